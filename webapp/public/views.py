"""The public site: no login, small pages that read without JavaScript (DESIGN.md §6).

Every page here shows public data only: notices that are published and visible (公示 names
masked), grid workers' names and work phones (公布联系电话), community office phones, and
figures with no personal data. Pages are revalidated on every visit (`no-cache` with an ETag),
so a withdrawn notice disappears at once while an unchanged page costs a 304 on a slow line.
"""

from __future__ import annotations

import uuid

from flask import abort, make_response, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp import clock
from webapp.extensions import db
from webapp.i18n import SHANGHAI
from webapp.models import Community, NoticeAttachment, Street
from webapp.notices import files, publicity
from webapp.notices import services as notices
from webapp.public import bp, figures, services

COMMUNITY_COOKIE = "gridrounds_community"
COOKIE_MAX_AGE = 400 * 24 * 3600  # the longest browsers keep a cookie
PER_PAGE = 20
PUBLIC_FILE_CACHE_CONTROL = "public, no-cache"


def _page(template: str, status: int = 200, **context):
    response = make_response(render_template(template, **context), status)
    response.headers["Cache-Control"] = "no-cache"
    if status == 200:
        response.add_etag()
        response.make_conditional(request)
    return response


def _community_or_404(community_id: int) -> Community:
    community = db.session.get(Community, community_id)
    if community is None:
        abort(404)
    return community


def _remembered_community() -> Community | None:
    try:
        community_id = int(request.cookies.get(COMMUNITY_COOKIE, ""))
    except ValueError:
        return None
    return db.session.get(Community, community_id)


def _remember(response, community: Community) -> None:
    if request.cookies.get(COMMUNITY_COOKIE) == str(community.id):
        return
    response.set_cookie(
        COMMUNITY_COOKIE,
        str(community.id),
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
    )


@bp.get("")
def index():
    """Pick a street and community; a returning visitor goes straight to theirs."""
    remembered = _remembered_community()
    if remembered is not None and not request.args.get("choose"):
        return redirect(url_for("public.board", community_id=remembered.id))
    streets = db.session.scalars(
        select(Street).options(selectinload(Street.communities)).order_by(Street.code)
    ).all()
    response = _page("public/index.html", streets=streets, remembered=remembered)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/c/<int:community_id>")
def board(community_id: int):
    community = _community_or_404(community_id)
    category = request.args.get("category", "")
    if category not in notices.CATEGORIES:
        category = ""
    try:
        page = min(max(int(request.args.get("page", 1)), 1), 500)
    except ValueError:
        page = 1
    now = clock.now()
    rows, more = notices.public_board(community, now, category or None, page, PER_PAGE)
    today = now.astimezone(SHANGHAI).date()
    response = _page(
        "public/board.html",
        community=community,
        rows=rows,
        more=more,
        page=page,
        category=category,
        publicity={n.id: notices.publicity_state(n, today) for n in rows},
    )
    _remember(response, community)
    return response


def _context_community(notice) -> Community | None:
    """Which community the reader came from: the link's `c`, the remembered one, or the only
    one the notice is for. None for a street-wide notice read from a shared link."""
    candidates = []
    try:
        candidates.append(db.session.get(Community, int(request.args.get("c", ""))))
    except ValueError:
        pass
    candidates.append(_remembered_community())
    if len(notice.communities) == 1:
        candidates.append(notice.communities[0])
    return next((c for c in candidates if c is not None and notices.covers(notice, c)), None)


@bp.get("/notices/<int:notice_id>")
def notice_page(notice_id: int):
    now = clock.now()
    notice = notices.public_notice(notice_id, now)
    if notice is None:
        abort(404)
    body = publicity.masked_body(notice)
    community = _context_community(notice)
    street = db.session.get(Street, notice.street_id)
    return _page(
        "public/notice.html",
        notice=notice,
        body=body,
        description=publicity.summary_text(body),
        community=community,
        place_name=community.name if community else street.name,
        street=street,
        attachments=notices.attachments_of(notice),
        publicity_state=notices.publicity_state(notice, now.astimezone(SHANGHAI).date()),
    )


@bp.get("/notices/<int:notice_id>/files/<uuid:file_id>")
def notice_file(notice_id: int, file_id: uuid.UUID):
    """A file of a visible notice; a draft's, a scheduled or a withdrawn notice's is a 404."""
    notice = notices.public_notice(notice_id, clock.now())
    if notice is None:
        abort(404)
    attachment = db.session.scalar(
        select(NoticeAttachment).where(
            NoticeAttachment.id == file_id, NoticeAttachment.notice_id == notice.id
        )
    )
    if attachment is None:
        abort(404)
    return files.send_notice_file(attachment, PUBLIC_FILE_CACHE_CONTROL)


@bp.get("/c/<int:community_id>/find")
def find(community_id: int):
    community = _community_or_404(community_id)
    query = (request.args.get("q") or "").strip()[: services.MAX_QUERY]
    answers = services.answers_for(services.find_buildings(community, query)) if query else []
    return _page(
        "public/find.html",
        community=community,
        query=query,
        answers=answers,
        grids=services.community_grids(community) if not query else [],
    )


@bp.get("/c/<int:community_id>/stats")
def stats(community_id: int):
    community = _community_or_404(community_id)
    return _page(
        "public/stats.html",
        community=community,
        figures=figures.community_figures(community, clock.now()),
        window_days=figures.WINDOW_DAYS,
    )


@bp.route("/<path:anything>")
def unknown(anything: str):
    abort(404)


@bp.errorhandler(404)
def not_found(error):
    return _page("public/error.html", status=404, community=_remembered_community())
