"""The service worker script, the offline and outbox pages, and "download my grid"."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from flask import (
    Response,
    abort,
    current_app,
    jsonify,
    make_response,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from markupsafe import Markup

from webapp.auth.scope import compute_scope, role_required
from webapp.models import Role
from webapp.pwa import binding, bp, offline_pages, shell
from webapp.pwa.strings import client_strings
from webapp.rounds import pages as rounds_pages
from webapp.rounds import worklists

SW_SOURCE = "js/sw.js"


@bp.get("/sw.js")
def service_worker():
    """The worker's source with its version and precache list prepended. Served from the root so
    its scope can be the whole site; never cached by HTTP, so a deploy reaches phones at once."""
    source = (Path(current_app.static_folder) / SW_SOURCE).read_text(encoding="utf-8")
    header = (
        f"const VERSION = {json.dumps(shell.sw_version())};\n"
        f"const PRECACHE = {json.dumps(shell.precache_urls())};\n"
        f"const OFFLINE_URL = {json.dumps(url_for('pwa.offline'))};\n"
        # The installed app starts at "/", a redirect no cache can hold; offline it opens the
        # worker's home instead, if that was downloaded.
        f"const START_FALLBACK = {json.dumps({url_for('web.index'): url_for('rounds.home')})};\n"
        # Field pages rendered offline from the phone's copy: [[route pattern, shell name], …].
        f"const OFFLINE_ROUTES = {json.dumps(offline_pages.routes())};\n"
    )
    response = Response(header + source, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/offline")
def offline():
    """Shown by the service worker for a page that was never downloaded. Precached, so rendered
    without anything of the signed-in user (`shell_page`)."""
    return render_template("pwa/offline.html", shell_page=True)


@bp.get("/pwa/shell/<name>")
def offline_shell(name: str):
    """A field page's template rendered with no data, for the service worker to keep: it holds
    nothing of anyone (`shell_page`), so it is precached before login like the offline page."""
    page = offline_pages.BY_NAME.get(name)
    if page is None:
        abort(404)
    html = render_template(
        page.template, vm=binding.BLANK, offline_shell=name, shell_page=True, **page.context()
    )
    response = make_response(html)
    # Part of the phone's first download (DESIGN.md §10: data and templates ≤ 150 KB on the wire).
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response.set_data(gzip.compress(response.get_data(), 6))
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    return response


def offline_json() -> Markup:
    """What offline-pages.js needs besides the copy: the routes and the label tables."""
    text = json.dumps(
        {"routes": offline_pages.routes(), "labels": rounds_pages.client_labels()},
        ensure_ascii=False,
        sort_keys=True,
    )
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return Markup(text)


@bp.get("/outbox")
@login_required
def outbox():
    """A shell: the list is read from the phone's IndexedDB by static/js/outbox.js."""
    return render_template("pwa/outbox.html")


@bp.get("/pwa/offline-urls")
@role_required(Role.GRID_WORKER)
def offline_urls():
    """The few pages the phone keeps as pages, not data: their templates belong to other areas
    and have no shell yet (webapp/pwa/offline_pages.py lists the field pages rendered from the
    copy). Fetched after each refresh of the copy, so they are as fresh as the data."""
    scope = compute_scope(current_user, roles=[Role.GRID_WORKER])
    # The cases waiting on this worker, so a note, an escalation request or a 回访 can be
    # recorded in a basement too (they go through the outbox like any field write).
    cases = worklists.waiting_cases(sorted(scope.grid_ids))
    urls = [url_for("alerts.notification_list")]  # 消息, as last seen
    urls += [url_for("cases.case_page", case_id=case.id) for case in cases]
    # Residents' reports to check on the spot (report.verify goes through the outbox too).
    from webapp.residents.services import reports_waiting

    urls += [
        url_for("residents.report_page", report_id=report.id)
        for report in reports_waiting(sorted(scope.grid_ids), limit=200)
    ]
    return jsonify(urls=urls, count=len(urls))


def client_strings_json() -> Markup:
    """The strings as a JSON data block, Chinese kept as UTF-8 (a third of tojson's \\u escapes)
    and `<`, `>`, `&` escaped so no text can close the <script> element."""
    text = json.dumps(client_strings(), ensure_ascii=False, sort_keys=True)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return Markup(text)


@bp.app_context_processor
def _client_strings() -> dict:
    return {"pwa_client_strings_json": client_strings_json, "pwa_offline_json": offline_json}


@bp.record_once
def _binding_helpers(state) -> None:
    state.app.jinja_env.globals.update(binding.HELPERS)
