"""Static files on the wire (DESIGN.md §10): compressed, fingerprinted URLs cached for a year,
the same fingerprint and service-worker version on every checkout of the same files."""

from __future__ import annotations

import gzip
import re
import shutil

from flask import url_for

from webapp.pwa import shell
from webapp.static_files import IMMUTABLE_MAX_AGE, static_fingerprint


def test_pages_link_fingerprinted_static_urls(app, client):
    page = client.get("/login").get_data(as_text=True)
    fingerprint = app.config["STATIC_FINGERPRINT"]
    linked = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert linked, "the login page links no static file"
    assert all(url.startswith(f"/static/{fingerprint}/") for url in linked)


def test_fingerprinted_files_are_gzipped_and_immutable(app, client):
    with app.test_request_context():
        url = url_for("static", filename="js/outbox.js")
    response = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert f"max-age={IMMUTABLE_MAX_AGE}" in response.headers["Cache-Control"]
    assert "immutable" in response.headers["Cache-Control"]
    original = (app.static_folder + "/js/outbox.js").encode()
    with open(original, "rb") as source:
        assert gzip.decompress(response.get_data()) == source.read()
    assert "Accept-Encoding" in response.headers.get("Vary", "")


def test_uncompressed_for_clients_that_do_not_ask(app, client):
    with app.test_request_context():
        url = url_for("static", filename="css/app.css")
    response = client.get(url, headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert b"{" in response.get_data()


def test_unversioned_paths_still_served_with_a_short_max_age(client):
    response = client.get("/static/icons/icon-192.png")
    assert response.status_code == 200
    assert "immutable" not in response.headers["Cache-Control"]
    assert "max-age=60" in response.headers["Cache-Control"]


def test_fingerprint_and_sw_version_do_not_depend_on_the_checkout_path(app, tmp_path):
    from pathlib import Path

    static_root = Path(app.static_folder)
    copy = tmp_path / "elsewhere" / "static"
    shutil.copytree(static_root, copy)
    assert static_fingerprint(copy) == static_fingerprint(static_root)

    templates_copy = tmp_path / "elsewhere" / "templates"
    shutil.copytree(app.template_folder, templates_copy)
    original = shell.files_fingerprint(app)
    moved_static, moved_templates = app.static_folder, app.template_folder
    try:
        app.static_folder, app.template_folder = str(copy), str(templates_copy)
        assert shell.files_fingerprint(app) == original
        (copy / "css" / "app.css").write_text("/* changed */", encoding="utf-8")
        assert shell.files_fingerprint(app) != original
        assert static_fingerprint(copy) != static_fingerprint(static_root)
    finally:
        app.static_folder, app.template_folder = moved_static, moved_templates
