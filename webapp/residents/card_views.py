"""民情联系卡: a printable card per building (A5, print stylesheet) with its grid worker, the
community's phone and a QR code (segno) that opens the building's public page, where a resident
finds the worker and reports something at that building."""

from __future__ import annotations

from dataclasses import dataclass

import segno
from flask import render_template, url_for
from markupsafe import Markup
from sqlalchemy import select

from webapp.auth.scope import get_scoped_or_404, role_required
from webapp.extensions import db
from webapp.models import Building, Community, Grid, Role, User
from webapp.reports.services import workers_by_grid
from webapp.residents import bp

CARD_ROLES = (Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN)


def building_url(building: Building) -> str:
    """What the card's QR code holds: the building's public page, as an absolute URL."""
    return url_for("residents.building_page", building_id=building.id, _external=True)


def qr_svg(text: str) -> Markup:
    # Medium error correction survives a smudged or scratched stairwell card. Inline SVG: no
    # data: URL (the CSP forbids them) and sharp at any print size.
    code = segno.make(text, error="m")
    return Markup(code.svg_inline(scale=4, border=2, dark="#000", omitsize=True))


@dataclass
class Card:
    building: Building
    grid: Grid
    community: Community
    workers: list[User]
    url: str
    qr: Markup


def cards_for(buildings: list[Building]) -> list[Card]:
    workers = workers_by_grid(sorted({b.grid_id for b in buildings}))
    cards = []
    for building in buildings:
        grid = db.session.get(Grid, building.grid_id)
        community = db.session.get(Community, grid.community_id)
        url = building_url(building)
        cards.append(Card(building, grid, community, workers.get(grid.id, []), url, qr_svg(url)))
    return cards


@bp.get("/residents/buildings/<int:building_id>/card")
@role_required(*CARD_ROLES)
def building_card(building_id: int):
    building = get_scoped_or_404(Building, building_id)
    return render_template("residents/cards.html", cards=cards_for([building]))


@bp.get("/residents/grids/<int:grid_id>/cards")
@role_required(*CARD_ROLES)
def grid_cards(grid_id: int):
    """Every building's card of a grid, one per printed page."""
    grid = get_scoped_or_404(Grid, grid_id)
    buildings = list(
        db.session.scalars(
            select(Building).where(Building.grid_id == grid.id).order_by(Building.id)
        )
    )
    return render_template("residents/cards.html", cards=cards_for(buildings))
