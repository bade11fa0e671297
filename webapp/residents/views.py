"""Public pages of residents' voice: the report form, a building's page (the QR code's target)
and the tracking page. No login; nothing personal of anyone is shown, the reporter included."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from webapp.extensions import db, limiter
from webapp.labels import REPORT_CATEGORY_LABELS
from webapp.models import Building, Community, Grid, ReportKind, ReportSource
from webapp.ops import Invalid
from webapp.public import services as public_services
from webapp.residents import abuse, bp, services

DEFAULT_LIMIT_PER_IP = "20 per hour; 60 per day"
DEFAULT_LIMIT_PER_DEVICE = "5 per hour; 15 per day"
DEFAULT_STATUS_LIMIT = "30 per minute"
# Three phone photos and the text: more than the app-wide cap, which suits one photo.
MAX_FORM_BYTES = services.MAX_PHOTOS * 10 * 1024 * 1024 + 512 * 1024


def _limit(key: str, default: str):
    return lambda: current_app.config.get(key) or default


def _device_key() -> str:
    # Without the cookie (a script that drops it) the device is the IP, under the IP's limit.
    return "report-device:" + (abuse.device_id() or request.remote_addr or "")


def _counts_against_device(response) -> bool:
    return response.status_code == 303  # only reports made: a resident fixing a typo is not held


def _community_or_404(community_id: int) -> Community:
    community = db.session.get(Community, community_id)
    if community is None:
        abort(404)
    return community


def _building_in(community: Community, value) -> Building | None:
    building = services.building_or_none(value)
    if building is None:
        return None
    grid = db.session.get(Grid, building.grid_id)
    return building if grid.community_id == community.id else None


@bp.before_request
def _allow_photos():
    if request.endpoint == "residents.report_form" and request.method == "POST":
        request.max_content_length = MAX_FORM_BYTES


def _public(response, status: int = 200):
    response = make_response(response, status)
    # A form carries a fresh challenge and token: never from a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/public/c/<int:community_id>/report", methods=["GET", "POST"])
@limiter.limit(_limit("REPORT_LIMIT_PER_IP", DEFAULT_LIMIT_PER_IP), methods=["POST"])
@limiter.limit(
    _limit("REPORT_LIMIT_PER_DEVICE", DEFAULT_LIMIT_PER_DEVICE),
    key_func=_device_key,
    methods=["POST"],
    deduct_when=_counts_against_device,
)
def report_form(community_id: int):
    community = _community_or_404(community_id)
    errors: dict[str, str] = {}
    values = request.form if request.method == "POST" else request.args
    kind = values.get("kind") or ReportKind.REPORT
    if kind not in tuple(ReportKind):
        kind = ReportKind.REPORT
    building = _building_in(community, values.get("building_id") or values.get("b"))
    query = (request.args.get("q") or "").strip()[: public_services.MAX_QUERY]
    matches = public_services.find_buildings(community, query) if query else []

    if request.method == "POST":
        form = services.ReportForm(
            kind=kind,
            category=request.form.get("category", ""),
            description=request.form.get("description", ""),
            building_id=building.id if building else None,
            place=request.form.get("place", ""),
            lat=request.form.get("lat"),
            lng=request.form.get("lng"),
            contact_phone=request.form.get("contact_phone", ""),
            source=ReportSource.PUBLIC,
            photos=request.files.getlist("photos"),
        )
        challenge = abuse.check(
            request.form.get("pow_token", ""),
            request.form.get("pow_nonce", ""),
            request.form.get("pow_answer", ""),
        )
        try:
            if challenge is None or services.challenge_used(challenge):
                # Checked with the fields, so the resident learns everything to fix at once.
                services.check_report(form, extra={"pow_answer": abuse.failed_message()})
            report = services.submit_report(form, challenge=challenge)
        except Invalid as error:
            db.session.rollback()
            errors = error.errors
        else:
            db.session.commit()
            return redirect(url_for("residents.status_page", number=report.number, new=1), 303)

    challenge = abuse.new_challenge()
    response = _public(
        render_template(
            "residents/report_form.html",
            community=community,
            kind=kind,
            building=building,
            query=query,
            matches=matches[:12],
            values=request.form if request.method == "POST" else {},
            errors=errors,
            challenge=challenge,
            categories=[c for c in REPORT_CATEGORY_LABELS if c != "suggestion"],
            max_photos=services.MAX_PHOTOS,
        ),
        422 if errors else 200,
    )
    abuse.remember_device(response)
    return response


@bp.get("/public/b/<int:building_id>")
def building_page(building_id: int):
    """What the QR code on a stairwell card opens: who looks after this building, and a button
    to report something here."""
    building = db.session.get(Building, building_id)
    if building is None:
        abort(404)
    grid = db.session.get(Grid, building.grid_id)
    community = db.session.get(Community, grid.community_id)
    answers = public_services.answers_for([building])
    response = make_response(
        render_template(
            "residents/building.html", building=building, community=community, answers=answers
        )
    )
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/public/r")
@limiter.limit(_limit("REPORT_STATUS_LIMIT", DEFAULT_STATUS_LIMIT))
def status_lookup():
    number = services.normalize_number(request.args.get("number", ""))
    if number:
        return redirect(url_for("residents.status_page", number=number), 303)
    return _public(render_template("residents/status_lookup.html", not_found=False))


@bp.get("/public/r/<number>")
@limiter.limit(_limit("REPORT_STATUS_LIMIT", DEFAULT_STATUS_LIMIT))
def status_page(number: str):
    report = services.by_number(number)
    if report is None:
        return _public(render_template("residents/status_lookup.html", not_found=True), 404)
    view = services.public_view(report)
    community = db.session.scalar(
        db.select(Community)
        .join(Grid, Grid.community_id == Community.id)
        .where(Grid.id == report.grid_id)
    )
    return _public(
        render_template(
            "residents/status.html",
            view=view,
            community=community,
            just_made=request.args.get("new") == "1",
        )
    )
