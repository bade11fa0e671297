"""找网格员: from an address a resident types to the grid and its worker's public phone.

An address is not personal data, and the answer names only public things (the grid, its
boundary, building names, the worker's name and work phone). Household addresses are searched
too, so "幸福里3号楼2单元501" finds its building, but the answer never says whether such a
household exists: it names the building only.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import or_, select

from webapp.extensions import db
from webapp.models import Building, Community, Grid, Household, User
from webapp.reports.services import workers_by_grid

MAX_QUERY = 50
MAX_BUILDINGS = 40
BUILDINGS_SHOWN = 6
BUILDING_NUMBER = re.compile(r"^(?P<place>.*?)(?P<number>\d+)号楼")


@dataclass
class GridAnswer:
    grid: Grid
    buildings: list[str] = field(default_factory=list)
    more_buildings: int = 0
    workers: list[User] = field(default_factory=list)


def normalize_query(text: str) -> str:
    """Full-width digits and letters as ASCII, no spaces; 3栋 and 3幢 read as 3号楼 (not "3号":
    that is also how a road address ends, 和平路12号)."""
    text = unicodedata.normalize("NFKC", text or "")
    text = re.sub(r"\s+", "", text)[:MAX_QUERY]
    return re.sub(r"(\d+)(?:栋|幢)", r"\1号楼", text)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _number_matches(name: str, place: str, number: str) -> bool:
    """The number stands on its own: "3号楼" must not find "13号楼"."""
    return re.search(f"{re.escape(place)}(?<!\\d){number}号楼", name) is not None


def find_buildings(community: Community, query: str) -> list[Building]:
    text = normalize_query(query)
    if not text:
        return []
    grid_ids = select(Grid.id).where(Grid.community_id == community.id)
    in_community = Building.grid_id.in_(grid_ids)
    numbered = BUILDING_NUMBER.match(text)
    if numbered:
        place, number = numbered.group("place"), numbered.group("number")
        candidates = db.session.scalars(
            select(Building)
            .where(
                in_community,
                Building.name.like(f"{_like(place)[:-1]}%{number}号楼%", escape="\\"),
            )
            .order_by(Building.grid_id, Building.id)
        )
        found = [b for b in candidates if _number_matches(b.name, place, number)]
        if found:
            return found[:MAX_BUILDINGS]
    found = list(
        db.session.scalars(
            select(Building)
            .where(
                in_community,
                or_(
                    Building.name.like(_like(text), escape="\\"),
                    Building.address.like(_like(text), escape="\\"),
                ),
            )
            .order_by(Building.grid_id, Building.id)
            .limit(MAX_BUILDINGS)
        )
    )
    if found:
        return found
    building_ids = (
        select(Household.building_id)
        .where(Household.grid_id.in_(grid_ids), Household.address.like(_like(text), escape="\\"))
        .distinct()
        .limit(MAX_BUILDINGS)
    )
    return list(
        db.session.scalars(
            select(Building).where(Building.id.in_(building_ids)).order_by(Building.id)
        )
    )


def answers_for(buildings: list[Building]) -> list[GridAnswer]:
    """Buildings grouped by grid, with each grid's workers, in the order found."""
    answers: dict[int, GridAnswer] = {}
    for building in buildings:
        answer = answers.get(building.grid_id)
        if answer is None:
            answer = answers[building.grid_id] = GridAnswer(grid=building.grid)
        if len(answer.buildings) < BUILDINGS_SHOWN:
            answer.buildings.append(building.name)
        else:
            answer.more_buildings += 1
    workers = workers_by_grid(list(answers))
    for grid_id, answer in answers.items():
        answer.workers = workers.get(grid_id, [])
    return list(answers.values())


def community_grids(community: Community) -> list[GridAnswer]:
    """Every grid of the community with its workers: the list under the search form."""
    grids = list(
        db.session.scalars(
            select(Grid).where(Grid.community_id == community.id).order_by(Grid.code)
        )
    )
    workers = workers_by_grid([grid.id for grid in grids])
    return [GridAnswer(grid=grid, workers=workers.get(grid.id, [])) for grid in grids]
