"""The org tree managed in the app (issue 12): create and rename streets, communities, grids and
buildings; move a building to another grid; merge a grid into another.

Rows that change grid reach phones through the same sync rules as a resident's transfer: every
moved row gets a tombstone for its old grid first, then a fresh change_seq under its new grid.
The two numbers are taken one after the other (never one shared number): a phone holding both
grids reads the deletion before the new copy, since tombstones sort last within one number.

Records belong to the grid (属地). A moved building takes its households and residents; the
visits, checks and cases already written stay with the grid they were written in. A merge ends
the old grid, so everything of it, records and cases included, moves to the grid it joins, and
its workers hold that grid from then on. A merge stays within one community: everyone who saw
the old grid then sees the grid it joined, and nobody keeps a copy the rules cannot reach.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update

from webapp.audit import record_audit
from webapp.auth.scope import compute_scope
from webapp.auth.services import grant
from webapp.changes import next_change_seq
from webapp.extensions import db
from webapp.models import (
    RECORD_MODELS,
    Building,
    Case,
    Community,
    Grid,
    Household,
    Membership,
    Resident,
    ResidentReport,
    Role,
    ScopeKind,
    Street,
    Tombstone,
    User,
)
from webapp.models.records import Attachment

NAME_MAX = 100
CODE_MAX = 32


class OrgError(Exception):
    """A refused change of the org tree, worded for people."""


class NotInScope(OrgError):
    """The object is outside what the actor manages: answered like a missing one."""


# --- who may do what -----------------------------------------------------------------------------


def is_admin(actor: User) -> bool:
    return Role.ADMIN in actor.roles()


def may_manage_buildings_of(actor: User, grid: Grid) -> bool:
    """Admin everywhere; community staff in the grids of their own community."""
    if is_admin(actor):
        return True
    scope = compute_scope(actor, [Role.COMMUNITY_STAFF])
    return grid.community_id in scope.community_ids


def managed_grid(actor: User, grid_id: int) -> Grid:
    grid = db.session.get(Grid, grid_id) if 0 < grid_id <= 2**31 - 1 else None
    if grid is None or not may_manage_buildings_of(actor, grid):
        raise NotInScope(_("No such grid."))
    return grid


def managed_building(actor: User, building_id: int) -> Building:
    building = db.session.get(Building, building_id) if 0 < building_id <= 2**31 - 1 else None
    if building is None or not may_manage_buildings_of(actor, building.grid):
        raise NotInScope(_("No such building."))
    return building


def _require_admin(actor: User) -> None:
    if not is_admin(actor):
        raise NotInScope(_("Only the administrator manages streets, communities and grids."))


# --- reading a form ------------------------------------------------------------------------------


def _name(value: str | None) -> str:
    name = (value or "").strip()
    if not name:
        raise OrgError(_("Enter a name."))
    if len(name) > NAME_MAX:
        raise OrgError(_("A name has at most %(n)d characters.", n=NAME_MAX))
    return name


def _code(model: Any, value: str | None, prefix: str) -> str:
    code = (value or "").strip() or f"{prefix}{uuid.uuid4().hex[:10].upper()}"
    if len(code) > CODE_MAX:
        raise OrgError(_("A code has at most %(n)d characters.", n=CODE_MAX))
    if db.session.scalar(select(model.id).where(model.code == code)) is not None:
        raise OrgError(_("This code is already used."))
    return code


def _get(model: Any, object_id: int | None, message: str) -> Any:
    row = db.session.get(model, object_id) if object_id and 0 < object_id <= 2**31 - 1 else None
    if row is None:
        raise OrgError(message)
    return row


# --- create and rename ---------------------------------------------------------------------------


def create_street(actor: User, name: str, code: str = "") -> Street:
    _require_admin(actor)
    street = Street(name=_name(name), code=_code(Street, code, "S"))
    db.session.add(street)
    db.session.flush()
    record_audit("org_created", actor=actor, target_type="street", target_id=street.id)
    return street


def create_community(actor: User, street_id: int | None, name: str, code: str = "") -> Community:
    _require_admin(actor)
    street = _get(Street, street_id, _("Choose an existing street."))
    community = Community(street_id=street.id, name=_name(name), code=_code(Community, code, "C"))
    db.session.add(community)
    db.session.flush()
    record_audit("org_created", actor=actor, target_type="community", target_id=community.id)
    return community


def create_grid(actor: User, community_id: int | None, name: str, code: str = "") -> Grid:
    _require_admin(actor)
    community = _get(Community, community_id, _("Choose an existing community."))
    grid = Grid(community_id=community.id, name=_name(name), code=_code(Grid, code, "G"))
    db.session.add(grid)
    db.session.flush()
    grid.change_seq = next_change_seq()
    record_audit("org_created", actor=actor, target_type="grid", target_id=grid.id)
    return grid


def create_building(actor: User, grid: Grid, name: str, address: str = "") -> Building:
    if not may_manage_buildings_of(actor, grid):
        raise NotInScope(_("No such grid."))
    name = _name(name)
    building = Building(grid_id=grid.id, name=name, address=(address or "").strip()[:200] or name)
    db.session.add(building)
    db.session.flush()
    building.change_seq = next_change_seq()  # the grid's phones get it on their next pull
    record_audit(
        "org_created", actor=actor, target_type="building", target_id=building.id, grid=grid.id
    )
    return building


def rename_street(actor: User, street_id: int, name: str) -> Street:
    _require_admin(actor)
    street = _get(Street, street_id, _("No such street."))
    return _renamed(actor, street, "street", name, [])


def rename_community(actor: User, community_id: int, name: str) -> Community:
    _require_admin(actor)
    community = _get(Community, community_id, _("No such community."))
    # Phones show a grid with its community's name: its grids are sent again.
    return _renamed(actor, community, "community", name, list(community.grids))


def rename_grid(actor: User, grid_id: int, name: str) -> Grid:
    _require_admin(actor)
    grid = _get(Grid, grid_id, _("No such grid."))
    return _renamed(actor, grid, "grid", name, [grid])


def rename_building(actor: User, building: Building, name: str) -> Building:
    if not may_manage_buildings_of(actor, building.grid):
        raise NotInScope(_("No such building."))
    return _renamed(actor, building, "building", name, [building])


def _renamed(actor: User, row: Any, kind: str, name: str, resend: list[Any]) -> Any:
    old = row.name
    row.name = _name(name)
    if resend:
        seq = next_change_seq()
        for changed in resend:
            changed.change_seq = seq
    record_audit(
        "org_renamed", actor=actor, target_type=kind, target_id=row.id, old=old, new=row.name
    )
    return row


# --- moving rows between grids -------------------------------------------------------------------


def _tombstone_rows(entity: str, ids: list[Any], grid_id: int, seq: int) -> None:
    db.session.add_all(
        Tombstone(entity=entity, entity_id=str(i), grid_id=grid_id, change_seq=seq) for i in ids
    )


def move_building(actor: User, building: Building, to_grid_id: int | None) -> Building:
    """The building now lies in another grid (admin only): its households and residents go with
    it; the old grid's phones drop them, the new grid's phones receive them."""
    _require_admin(actor)
    target = _get(Grid, to_grid_id, _("Choose an existing grid to move the building to."))
    old_grid_id = building.grid_id
    if target.id == old_grid_id:
        raise OrgError(_("The building already lies in this grid."))
    household_ids = list(
        db.session.scalars(select(Household.id).where(Household.building_id == building.id))
    )
    resident_ids = (
        list(
            db.session.scalars(select(Resident.id).where(Resident.household_id.in_(household_ids)))
        )
        if household_ids
        else []
    )
    gone = next_change_seq()
    _tombstone_rows("building", [building.id], old_grid_id, gone)
    _tombstone_rows("household", household_ids, old_grid_id, gone)
    _tombstone_rows("resident", resident_ids, old_grid_id, gone)
    _tombstone_rows("care_task", resident_ids, old_grid_id, gone)
    arrived = next_change_seq()
    building.grid_id = target.id
    building.change_seq = arrived
    if household_ids:
        db.session.execute(
            update(Household)
            .where(Household.id.in_(household_ids))
            .values(grid_id=target.id, change_seq=arrived)
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            update(Resident)
            .where(Resident.household_id.in_(household_ids))
            .values(grid_id=target.id, change_seq=arrived)
            .execution_options(synchronize_session=False)
        )
    db.session.flush()
    db.session.expire_all()
    record_audit(
        "building_moved",
        actor=actor,
        target_type="building",
        target_id=building.id,
        from_grid=old_grid_id,
        to_grid=target.id,
        households=len(household_ids),
        residents=len(resident_ids),
    )
    return db.session.get(Building, building.id)


def merge_summary(grid: Grid) -> dict[str, int]:
    """What a merge would move, for the confirmation page."""
    count = db.session.query
    return {
        "buildings": count(Building).filter(Building.grid_id == grid.id).count(),
        "households": count(Household).filter(Household.grid_id == grid.id).count(),
        "cases": count(Case).filter(Case.home_grid_id == grid.id).count(),
    }


def merge_grid(actor: User, source_id: int, target_id: int | None) -> Grid:
    """合并网格 (admin only): everything of `source` moves to `target`, its workers hold `target`,
    and `source` is gone."""
    _require_admin(actor)
    source = _get(Grid, source_id, _("No such grid."))
    target = _get(Grid, target_id, _("Choose an existing grid to merge into."))
    if target.id == source.id:
        raise OrgError(_("A grid cannot be merged into itself."))
    if target.community_id != source.community_id:
        raise OrgError(_("Only grids of the same community can be merged."))
    summary = merge_summary(source)
    # Phones that hold only the old grid are its workers', and they hold the new one from now
    # on: the pull's add phase sends them everything of it, the moved rows included.
    holders = list(
        db.session.scalars(
            select(Membership).where(
                Membership.scope_kind == ScopeKind.GRID, Membership.scope_id == source.id
            )
        )
    )
    for membership in holders:
        user = membership.user
        already = any(
            m.role == membership.role and m.scope_id == target.id for m in user.memberships
        )
        user.memberships.remove(membership)
        if not already:
            grant(user, membership.role, target.id)
    db.session.flush()
    moved = next_change_seq()
    for model in (Building, Household, Resident, *RECORD_MODELS.values(), ResidentReport):
        values: dict[str, Any] = {"grid_id": target.id, "change_seq": moved}
        db.session.execute(
            update(model)
            .where(model.grid_id == source.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    db.session.execute(
        update(Attachment)
        .where(Attachment.grid_id == source.id)
        .values(grid_id=target.id)
        .execution_options(synchronize_session=False)
    )
    # The grid a case belongs to ends here, so its cases belong to the grid it joined (属地 in
    # the only form left). Versions stay: they guard edits, and nothing a worker edits changed.
    db.session.execute(
        update(Case)
        .where(Case.home_grid_id == source.id)
        .values(home_grid_id=target.id, change_seq=moved)
        .execution_options(synchronize_session=False)
    )
    # The grid itself leaves every phone (a grid row is public: anyone may hear of its end).
    db.session.add(Tombstone(entity="grid", entity_id=str(source.id), change_seq=next_change_seq()))
    source_name, source_code = source.name, source.code
    db.session.expire_all()
    db.session.execute(
        Grid.__table__.delete().where(Grid.__table__.c.id == source.id)  # no row points to it now
    )
    record_audit(
        "grid_merged",
        actor=actor,
        target_type="grid",
        target_id=target.id,
        merged_grid=source_id,
        merged_name=source_name,
        merged_code=source_code,
        workers=len(holders),
        **summary,
    )
    return db.session.get(Grid, target.id)
