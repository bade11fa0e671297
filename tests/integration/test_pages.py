"""App-wide behaviour: health check, security headers, language, error pages."""

import re

from sqlalchemy import text

from tests.conftest import csrf_token_from
from webapp.extensions import db
from webapp.security import CONTENT_SECURITY_POLICY


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    # With REDIS_URL set, Redis is reported too (tests/integration/test_security_outages.py).
    assert body == {
        "status": "ok",
        "database": "ok",
        **({"redis": "ok"} if "redis" in body else {}),
    }


def test_healthz_is_503_when_the_database_does_not_answer(app, client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database is down")

    monkeypatch.setattr(db.session, "execute", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "error"


def test_every_page_carries_the_content_security_policy(client):
    response = client.get("/login")
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_pages_have_no_inline_script_or_style(client):
    html = client.get("/login").get_data(as_text=True)
    assert "<script>" not in html and "<style" not in html and "style=" not in html
    for line in html.splitlines():
        if "<script" in line:
            # Only scripts loaded from our origin, or inert JSON data blocks (never executed).
            assert 'src="' in line or 'type="application/json"' in line


def test_htmx_is_configured_by_meta_without_eval(client):
    html = client.get("/login").get_data(as_text=True)
    assert '"allowEval":false' in html
    assert '"selfRequestsOnly":true' in html
    assert '"historyCacheSize":0' in html
    assert '"includeIndicatorStyles":false' in html
    assert re.search(r"/static/[0-9a-f]+/vendor/htmx\.min\.js", html)


def test_english_is_available_and_remembered(client):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    client.post("/locale", data={"locale": "en", "next": "/login", "csrf_token": token})
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Log in to GridRounds" in html


def test_unknown_page_is_a_chinese_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)


def test_database_is_reachable_in_tests(app):
    assert db.session.execute(text("SELECT 1")).scalar() == 1
