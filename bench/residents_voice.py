#!/usr/bin/env python3
"""Residents' voice (issue 14): what a report, its tracking page, Open311 and the worker's pull
cost, and how long the report form's proof of work takes in a real browser.

    .venv/bin/python bench/residents_voice.py                      # SQLite in a temp dir
    DATABASE_URL=postgresql://…/gr_bench .venv/bin/python bench/residents_voice.py

In-process Flask test client (no HTTP). World: 2 streets, 4 communities, 16 grids, 160
buildings, REPORTS reports spread over the last 60 days. There is no DESIGN.md §10 budget of its
own; the nearest are printed beside the numbers (public pages small and fast on a cheap phone,
JS ≤ 50 KB gzip in all, an incremental pull ≤ 1 KB / ≤ 20 ms).
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "bench-secret")

from sqlalchemy import create_engine, text  # noqa: E402

from tests import factories as f  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.config import database_url_from_env  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import Base, ResidentReport, utcnow  # noqa: E402
from webapp.residents import abuse, services  # noqa: E402

API = {"X-GridRounds-Client": "1"}
CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def median_ms(samples: list[float]) -> str:
    p95 = sorted(samples)[int(len(samples) * 0.95) - 1]
    return f"{statistics.median(samples) * 1000:.1f} ms (p95 {p95 * 1000:.1f})"


def timed(call, times: int) -> tuple[list[float], object]:
    samples, result = [], None
    for _ in range(times):
        started = time.perf_counter()
        result = call()
        samples.append(time.perf_counter() - started)
    return samples, result


def build_world(reports: int):
    streets = [f.gen_street() for _ in range(2)]
    communities = [f.gen_community(streets[i // 2]) for i in range(4)]
    grids = [f.gen_grid(communities[i // 4]) for i in range(16)]
    buildings = [f.gen_building(grids[i // 10]) for i in range(160)]
    f.gen_user("worker_bench", "grid_worker", grids[0], work_phone="13500001111")
    db.session.commit()
    now = utcnow()
    for n in range(reports):
        building = buildings[n % len(buildings)]
        report = services.submit_report(
            services.ReportForm(
                category=services.REPORT_CATEGORIES[n % len(services.REPORT_CATEGORIES)],
                description=f"楼道灯坏了 {n}",
                building_id=building.id,
                contact_phone="13612345678",
            )
        )
        report.received_at = now - timedelta(minutes=n * 40)
        if n % 500 == 0:
            db.session.commit()
    db.session.commit()
    return communities, buildings


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=2000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        url = database_url_from_env("")
        kind = "PostgreSQL"
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
        kind = "SQLite"
    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    Base.metadata.create_all(engine)
    engine.dispose()
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SERVER_NAME": "localhost",
            "UPLOAD_FOLDER": tempfile.mkdtemp(),
            "REPORT_LIMIT_PER_IP": "100000 per hour",
            "REPORT_LIMIT_PER_DEVICE": "100000 per hour",
            "RATELIMIT_KEY_PREFIX": f"bench-{time.time()}",
        }
    )
    print(f"database: {kind}; reports: {args.reports}")
    with app.test_request_context():
        started = time.perf_counter()
        communities, buildings = build_world(args.reports)
        made = time.perf_counter() - started
        print(f"submit_report (service, routing, notify): {made / args.reports * 1000:.2f} ms each")
        number = db.session.scalar(db.select(ResidentReport.number).limit(1))
        community_id, building_id = communities[0].id, buildings[0].id

    client = app.test_client()

    def post_one():
        page = client.get(f"/public/c/{community_id}/report?b={building_id}").get_data(True)
        token = re.search(r'name="pow_token" value="([^"]+)"', page).group(1)
        match = CSRF.search(page)
        data = {
            "csrf_token": match.group(1) or match.group(2),
            "kind": "report",
            "category": "facility",
            "description": "楼道灯坏了",
            "building_id": str(building_id),
            "pow_token": token,
            "pow_nonce": abuse.solve(token),
        }
        started = time.perf_counter()
        response = client.post(f"/public/c/{community_id}/report", data=data)
        assert response.status_code == 303, response.status_code
        return time.perf_counter() - started

    posts = [post_one() for _ in range(20)]
    print(f"POST public report (no photo; PoW solved beforehand): {median_ms(posts)}")

    samples, response = timed(lambda: client.get(f"/public/r/{number}"), 50)
    body = response.data
    print(
        f"GET /public/r/<number>: {median_ms(samples)}, {len(body)} bytes,"
        f" {len(gzip.compress(body))} gzip"
    )
    samples, response = timed(lambda: client.get("/open311/v2/requests.json"), 5)
    body = response.data
    print(
        f"GET /open311/v2/requests.json (≤1000 of 90 days): {median_ms(samples)},"
        f" {len(response.get_json())} requests, {len(gzip.compress(body)) // 1024} KB gzip"
    )
    samples, response = timed(lambda: client.get("/open311/v2/requests.xml"), 5)
    print(f"GET /open311/v2/requests.xml: {median_ms(samples)}")

    worker = app.test_client()
    page = worker.get("/login").get_data(True)
    match = CSRF.search(page)
    worker.post(
        "/login",
        data={
            "username": "worker_bench",
            "password": f.TEST_PASSWORD,
            "csrf_token": match.group(1) or match.group(2),
        },
    )
    samples, response = timed(
        lambda: worker.get("/api/v1/sync/pull?cursor=&limit=2000", headers=API), 5
    )
    changes = response.get_json()["changes"]
    reports = [c for c in changes if c["entity"] == "report"]
    raw = gzip.compress(response.data)
    print(
        f"worker's first pull (grid 1): {median_ms(samples)}, {len(changes)} changes of which"
        f" {len(reports)} reports, {len(raw) // 1024} KB gzip"
    )
    samples, _ = timed(lambda: worker.get("/grid"), 20)
    print(f"GET /grid (我的网格 with the reports partial): {median_ms(samples)}")

    js = (ROOT / "static/js/report-pow.js").read_bytes()
    print(f"static/js/report-pow.js: {len(js)} bytes, {len(gzip.compress(js))} gzip")
    pow_in_browser(app)
    return 0


def pow_in_browser(app) -> None:
    """The page's script solving fresh challenges in Chromium on a phone-sized page, CPU
    throttled 4× as Lighthouse does for a mid-range phone."""
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not Path(chromium).exists():
        print("Chromium missing: proof-of-work timing skipped")
        return
    from playwright.sync_api import sync_playwright

    script = (ROOT / "static/js/report-pow.js").read_text()
    with app.test_request_context():
        tokens = [abuse.new_challenge().token for _ in range(15)]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 360, "height": 740})
        for throttle in (1, 4):
            cdp = page.context.new_cdp_session(page)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
            samples = []
            for token in tokens:
                page.set_content(
                    '<form data-pow><input name="pow_token" value="'
                    + token
                    + '"><input name="pow_nonce"><div data-pow-fallback></div></form>'
                )
                started = time.perf_counter()
                page.add_script_tag(content=script)
                page.wait_for_selector("form[data-pow-done]", timeout=120_000)
                samples.append(time.perf_counter() - started)
                nonce = page.input_value("input[name=pow_nonce]")
                with app.test_request_context():
                    assert abuse.check(token, nonce, "") is not None, "browser nonce refused"
            print(
                f"proof of work in Chromium, {abuse.DEFAULT_BITS} bits, CPU ×{throttle}:"
                f" median {statistics.median(samples):.2f} s, max {max(samples):.2f} s"
                f" (15 challenges, every nonce accepted by the server)"
            )
        browser.close()


if __name__ == "__main__":
    sys.exit(main())
