"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) under `/open311/v2/`, in JSON and
XML: what civic-reporting clients already speak.

Services are the report categories. Requests are residents' reports with public data only: the
tracking number as `service_request_id`, `open`/`closed`, the public result as `status_notes`,
the building as the address. Never the description (a resident's words may name neighbours),
the contact, the resident's location or photos. POST needs an `api_key` issued per client
(`flask --app webapp open311 key-create NAME`); only its SHA-256 is stored.

Routing needs a building: `address_id` is our building id (as `GET /public/b/<id>` shows it), or
`address_string` must match one building's name or address. Bare `lat`/`long` cannot be routed:
buildings carry no coordinates here.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import click
from flask import Response, current_app, json, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from webapp import clock
from webapp.extensions import csrf, db, limiter
from webapp.i18n import SHANGHAI
from webapp.labels import REPORT_CATEGORY_LABELS
from webapp.models import (
    Community,
    Grid,
    Open311Client,
    ReportKind,
    ReportSource,
    ReportStatus,
    ResidentReport,
    utcnow,
)
from webapp.ops import Invalid
from webapp.residents import bp, services

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-29T00:00:00+08:00"
DEFAULT_DAYS = 90
MAX_REQUESTS = 1000
DEFAULT_POST_LIMIT = "60 per hour"
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


# --- answering in JSON or XML -------------------------------------------------------------------


def _xml(root: str, item: str | None, body: Any) -> bytes:
    def fill(element: ElementTree.Element, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                fill(ElementTree.SubElement(element, key), inner)
        elif isinstance(value, list):
            child_name = {"endpoints": "endpoint", "formats": "format"}.get(element.tag, "item")
            for inner in value:
                fill(ElementTree.SubElement(element, child_name), inner)
        elif value is None:
            pass
        elif isinstance(value, bool):
            element.text = "true" if value else "false"
        else:
            element.text = str(value)

    top = ElementTree.Element(root)
    if item is None:
        fill(top, body)
    else:
        for entry in body:
            fill(ElementTree.SubElement(top, item), entry)
    return ElementTree.tostring(top, encoding="utf-8", xml_declaration=True)


def _answer(fmt: str, body: Any, root: str, item: str | None, status: int = 200) -> Response:
    if fmt == "xml":
        data = _xml(root, item, body)
    else:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    response = Response(data, status=status, content_type=FORMATS[fmt])
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Access-Control-Allow-Origin"] = "*"  # public data, for browser clients
    return response


def _errors(fmt: str, status: int, description: str) -> Response:
    return _answer(
        fmt, [{"code": status, "description": description}], "errors", "error", status=status
    )


def _format_or_404(fmt: str) -> str:
    if fmt not in FORMATS:
        from flask import abort

        abort(404)
    return fmt


def _when(moment: datetime | None) -> str | None:
    return moment.astimezone(SHANGHAI).isoformat(timespec="seconds") if moment else None


# --- discovery and services ---------------------------------------------------------------------


@bp.get("/open311/discovery.<fmt>")
@bp.get("/open311/v2/discovery.<fmt>")
def discovery(fmt: str):
    fmt = _format_or_404(fmt)
    body = {
        "changeset": CHANGESET,
        "contact": _(
            "Your community office; see %(url)s", url=url_for("public.index", _external=True)
        ),
        "key_service": _("API keys are issued by the street office's system administrator."),
        "endpoints": [
            {
                "specification": SPEC_URL,
                "url": url_for("residents.services_list", fmt="json", _external=True).rsplit(
                    "/", 1
                )[0],
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return _answer(fmt, body, "discovery", None)


def _service(code: str) -> dict[str, Any]:
    return {
        "service_code": code,
        "service_name": str(REPORT_CATEGORY_LABELS[code]),
        "description": str(REPORT_CATEGORY_LABELS[code]),
        "metadata": False,
        "type": "realtime",
        "keywords": "",
        "group": "suggestion" if code == "suggestion" else "report",
    }


@bp.get("/open311/v2/services.<fmt>")
def services_list(fmt: str):
    fmt = _format_or_404(fmt)
    body = [_service(code) for code in REPORT_CATEGORY_LABELS]
    return _answer(fmt, body, "services", "service")


# --- requests -------------------------------------------------------------------------------------


def _request_body(
    report: ResidentReport, view: services.PublicView, communities: dict[int, str]
) -> dict[str, Any]:
    return {
        "service_request_id": report.number,
        "status": "closed" if view.is_closed else "open",
        "status_notes": view.result or view.headline,
        "service_name": str(REPORT_CATEGORY_LABELS.get(report.category, report.category)),
        "service_code": report.category,
        "description": None,
        "agency_responsible": communities.get(report.grid_id),
        "service_notice": None,
        "requested_datetime": _when(report.received_at),
        "updated_datetime": _when(view.updated_at),
        "expected_datetime": None,
        "address": view.building_name or None,
        "address_id": report.building_id,
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": None,
    }


def _communities_of(reports: list[ResidentReport]) -> dict[int, str]:
    grid_ids = {report.grid_id for report in reports}
    if not grid_ids:
        return {}
    return dict(
        db.session.execute(
            select(Grid.id, Community.name)
            .join(Community, Community.id == Grid.community_id)
            .where(Grid.id.in_(grid_ids))
        ).all()
    )


def _date_arg(name: str) -> datetime | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(
            {name: _("Use an ISO 8601 time, such as 2026-11-05T08:15:30+08:00.")}
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def _not_spam():
    return ResidentReport.status != ReportStatus.SPAM


@bp.get("/open311/v2/requests.<fmt>")
def request_list(fmt: str):
    fmt = _format_or_404(fmt)
    query = select(ResidentReport).where(_not_spam())
    wanted_ids = [
        services.normalize_number(part)
        for part in request.args.get("service_request_id", "").split(",")
        if part.strip()
    ]
    try:
        start, end = _date_arg("start_date"), _date_arg("end_date")
    except Invalid as error:
        return _errors(fmt, 400, "; ".join(error.errors.values()))
    if wanted_ids:
        # "If this parameter is provided, all other parameters are ignored" (GeoReport v2).
        query = query.where(ResidentReport.number.in_(wanted_ids[:MAX_REQUESTS]))
    else:
        codes = [c.strip() for c in request.args.get("service_code", "").split(",") if c.strip()]
        if codes:
            query = query.where(ResidentReport.category.in_(codes))
        if start is None and end is None:
            start = clock.now() - timedelta(days=DEFAULT_DAYS)
        if start is not None:
            query = query.where(ResidentReport.received_at >= start)
        if end is not None:
            query = query.where(ResidentReport.received_at <= end)
    reports = list(
        db.session.scalars(query.order_by(ResidentReport.received_at.desc()).limit(MAX_REQUESTS))
    )
    communities = _communities_of(reports)
    views = services.public_views(reports)
    body = [_request_body(r, view, communities) for r, view in zip(reports, views, strict=True)]
    statuses = {s.strip() for s in request.args.get("status", "").split(",") if s.strip()}
    if statuses and not wanted_ids:
        body = [entry for entry in body if entry["status"] in statuses]
    return _answer(fmt, body, "service_requests", "request")


@bp.get("/open311/v2/requests/<number>.<fmt>")
def request_one(number: str, fmt: str):
    fmt = _format_or_404(fmt)
    report = services.by_number(number)
    if report is None or report.status == ReportStatus.SPAM:
        return _errors(fmt, 404, _("No service request has this id."))
    body = [_request_body(report, services.public_view(report), _communities_of([report]))]
    return _answer(fmt, body, "service_requests", "request")


def client_for_key(key: str) -> Open311Client | None:
    if not key:
        return None
    digest = hashlib.sha256(key.encode()).hexdigest()
    return db.session.scalar(
        select(Open311Client).where(
            Open311Client.key_sha256 == digest, Open311Client.revoked_at.is_(None)
        )
    )


def _building_for(form) -> Any:
    address_id = form.get("address_id", "").strip()
    if address_id:
        return services.building_or_none(address_id)
    text = form.get("address_string", "").strip()
    if not text:
        return None
    found = services.buildings_matching(text)
    return found[0] if len({b.grid_id for b in found}) == 1 else None


@bp.post("/open311/v2/requests.<fmt>")
@csrf.exempt
@limiter.limit(lambda: current_app.config.get("OPEN311_POST_LIMIT") or DEFAULT_POST_LIMIT)
def request_create(fmt: str):
    fmt = _format_or_404(fmt)
    form = request.form
    client = client_for_key(form.get("api_key", ""))
    if client is None:
        return _errors(
            fmt, 403, _("Invalid api_key received -- can't proceed with create_request.")
        )
    code = form.get("service_code", "")
    if code not in REPORT_CATEGORY_LABELS:
        return _errors(fmt, 404, _("service_code was not found."))
    building = _building_for(form)
    if building is None:
        return _errors(
            fmt,
            400,
            _(
                "The location was not found: send address_id (a building id) or an "
                "address_string naming one building."
            ),
        )
    name = " ".join(
        part for part in (form.get("last_name", ""), form.get("first_name", "")) if part
    )
    report_form = services.ReportForm(
        kind=ReportKind.SUGGESTION if code == "suggestion" else ReportKind.REPORT,
        category=code,
        description=form.get("description", ""),
        building_id=building.id,
        place=form.get("address_string", "")[: services.MAX_PLACE],
        lat=form.get("lat"),
        lng=form.get("long"),
        contact_phone=form.get("phone", ""),
        contact_name=name,
        source=ReportSource.OPEN311,
    )
    try:
        report = services.submit_report(report_form, open311_client_id=client.id)
    except Invalid as error:
        db.session.rollback()
        return _errors(fmt, 400, "; ".join(f"{k}: {v}" for k, v in error.errors.items()))
    db.session.commit()
    body = [
        {
            "service_request_id": report.number,
            "service_notice": _(
                "The grid worker of this building will check it. Follow it at %(url)s",
                url=url_for("residents.status_page", number=report.number, _external=True),
            ),
            "account_id": None,
        }
    ]
    return _answer(fmt, body, "service_requests", "request", status=201)


# --- keys ----------------------------------------------------------------------------------------


def create_client(name: str) -> tuple[Open311Client, str]:
    """A new client and its key; the key is shown once and only its hash is kept."""
    key = secrets.token_urlsafe(24)
    client = Open311Client(name=name[:100], key_sha256=hashlib.sha256(key.encode()).hexdigest())
    db.session.add(client)
    db.session.flush()
    return client, key


open311_cli = click.Group("open311", help="Open311 GeoReport v2 clients and their API keys.")


@open311_cli.command("key-create")
@click.argument("name")
def key_create(name: str) -> None:
    """Make an API key for client NAME; it is printed once."""
    client, key = create_client(name)
    db.session.commit()
    click.echo(f"client {client.id} {client.name}: api_key={key}")


@open311_cli.command("key-list")
def key_list() -> None:
    for client in db.session.scalars(select(Open311Client).order_by(Open311Client.id)):
        state = "revoked" if client.revoked_at else "active"
        click.echo(f"{client.id}\t{client.name}\t{state}")


@open311_cli.command("key-revoke")
@click.argument("client_id", type=int)
def key_revoke(client_id: int) -> None:
    client = db.session.get(Open311Client, client_id)
    if client is None:
        raise click.ClickException(f"no client {client_id}")
    client.revoked_at = utcnow()
    db.session.commit()
    click.echo(f"revoked client {client_id}")


@bp.record_once
def _register_cli(state) -> None:
    state.app.cli.add_command(open311_cli)
