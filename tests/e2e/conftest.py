"""Browser tests: a live server with the small demo data, driven by Debian's Chromium through
Playwright (never `playwright install`, which cannot download here).

The server runs in a thread of the test process against its own database (migrated with Alembic,
so the browser also exercises the migrations), on SQLite or on a throwaway PostgreSQL database.
"""

from __future__ import annotations

import os
import threading
import uuid
from datetime import date
from pathlib import Path

import flask_migrate
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from webapp import create_app
from webapp.config import database_url_from_env
from webapp.demo.generator import load_demo_data
from webapp.extensions import db

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DEMO_PASSWORD = "gridrounds-demo"
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}

# Flags from the machine notes: without the background-networking ones Chromium keeps dialling
# Google's hosts, which this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def e2e_database_url(tmp_path_factory):
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        yield f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'e2e.db'}"
        return
    base = make_url(database_url_from_env(""))
    name = f"gr_e2e_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def live_app(e2e_database_url, tmp_path_factory):
    """The app object the live server runs, with the small demo data loaded."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": e2e_database_url,
            "UPLOAD_FOLDER": str(tmp_path_factory.mktemp("uploads")),
            "RATELIMIT_KEY_PREFIX": f"e2e-{uuid.uuid4().hex}",
            "BOARD_REFRESH_SECONDS": 2,
        }
    )
    with app.app_context():
        flask_migrate.upgrade()
        load_demo_data(db.session, scale="small", seed=1, today=date.today())
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(live_app):
    """Base URL of the demo app served on an ephemeral loopback port."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def e2e_db(live_app):
    """A database session on the live server's database, to check what reached the server.
    Call `e2e_db.rollback()` before each look: a read transaction keeps its old snapshot."""
    with live_app.app_context():
        yield db.session
        db.session.rollback()
        db.session.remove()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test` (it installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageProblems:
    """Console errors, uncaught exceptions and CSP violations seen by one page."""

    def __init__(self, page):
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.page = page
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        # Injected through the DevTools protocol, so the page's CSP does not apply to it.
        page.add_init_script(
            "window.__cspViolations = [];"
            "document.addEventListener('securitypolicyviolation', e => "
            "window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
        )

    def _on_console(self, message):
        if message.type == "error":
            self.console_errors.append(message.text)

    def csp_violations(self) -> list[str]:
        return self.page.evaluate("window.__cspViolations || []")

    def assert_clean(self):
        assert self.csp_violations() == []
        assert self.page_errors == []
        assert self.console_errors == []


@pytest.fixture
def phone(browser, live_server):
    """A fresh 360×740 phone context (zh-CN, Asia/Shanghai) and its page."""
    context = browser.new_context(
        base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai", **PHONE
    )
    page = context.new_page()
    page.problems = PageProblems(page)
    yield page
    context.close()


@pytest.fixture
def screenshot():
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def log_in(page, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def wait_until(page, expression: str, timeout: float = 30.0, every: float = 0.2) -> None:
    """Poll a JavaScript expression (a promise is awaited) until it is truthy. Playwright's
    wait_for_function evaluates its predicate with eval() after the first try, which our CSP
    refuses; page.evaluate goes through DevTools and is not subject to it."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            if page.evaluate(expression):
                return
        except Exception:  # a navigation destroyed the context: look again
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout}s: {expression}")
        time.sleep(every)
