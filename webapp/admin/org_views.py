"""组织架构 pages: the tree (admin) and a grid's buildings (admin, and community staff of the
grid's community). Rules live in webapp/admin/org.py; a merge asks for confirmation first."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from webapp.admin import bp, org
from webapp.admin import services as tree
from webapp.audit import record_audit
from webapp.auth.scope import role_required
from webapp.extensions import db
from webapp.models import Building, Grid, Role


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _denied(target_type: str, target_id: object):
    db.session.rollback()
    record_audit("access_denied", actor=current_user, target_type=target_type, target_id=target_id)
    db.session.commit()
    abort(404)


def _tree_page(error: str | None = None):
    page = render_template(
        "admin/org.html",
        streets=tree.org_tree(),
        household_counts=tree.household_counts_by_grid(),
        user_count=tree.user_count(),
        error=error,
    )
    return (page, 422) if error else page


def _grid_page(grid: Grid, error: str | None = None, status: int = 200):
    siblings = list(
        db.session.scalars(
            select(Grid).where(Grid.community_id == grid.community_id).order_by(Grid.code)
        )
    )
    return render_template(
        "admin/org_grid.html",
        grid=grid,
        buildings=list(
            db.session.scalars(
                select(Building).where(Building.grid_id == grid.id).order_by(Building.id)
            )
        ),
        siblings=[g for g in siblings if g.id != grid.id],
        all_grids=list(db.session.scalars(select(Grid).order_by(Grid.code))),
        is_admin=org.is_admin(current_user),
        error=error,
    ), status


def _loaded_grid(grid_id: int) -> Grid:
    try:
        return org.managed_grid(current_user, grid_id)
    except org.NotInScope:
        _denied("grid", grid_id)


def _done(grid_id: int | None = None):
    db.session.commit()
    flash(_("Saved."), "success")
    if grid_id is None:
        return redirect(url_for("admin.org_tree"), 303)
    return redirect(url_for("admin.org_grid", grid_id=grid_id), 303)


@bp.post("/org/<level>")
@role_required(Role.ADMIN)
def org_create(level: str):
    """Create a street, community or grid from the tree page."""
    form = request.form
    makers = {
        "streets": lambda: org.create_street(current_user, form.get("name", ""), form.get("code")),
        "communities": lambda: org.create_community(
            current_user, _int(form.get("street_id")), form.get("name", ""), form.get("code")
        ),
        "grids": lambda: org.create_grid(
            current_user, _int(form.get("community_id")), form.get("name", ""), form.get("code")
        ),
    }
    if level not in makers:
        abort(404)
    try:
        makers[level]()
    except org.OrgError as problem:
        db.session.rollback()
        return _tree_page(str(problem))
    return _done()


@bp.post("/org/<level>/<int:node_id>/rename")
@role_required(Role.ADMIN)
def org_rename(level: str, node_id: int):
    renamers = {
        "streets": org.rename_street,
        "communities": org.rename_community,
        "grids": org.rename_grid,
    }
    if level not in renamers:
        abort(404)
    try:
        renamers[level](current_user, node_id, request.form.get("name", ""))
    except org.OrgError as problem:
        db.session.rollback()
        return _tree_page(str(problem))
    return _done(node_id if level == "grids" else None)


@bp.get("/org/grids/<int:grid_id>")
@role_required(Role.ADMIN, Role.COMMUNITY_STAFF)
def org_grid(grid_id: int):
    """A grid's buildings: create and rename (admin and the community's staff), move and merge
    (admin)."""
    return _grid_page(_loaded_grid(grid_id))


@bp.post("/org/grids/<int:grid_id>/buildings")
@role_required(Role.ADMIN, Role.COMMUNITY_STAFF)
def org_create_building(grid_id: int):
    grid = _loaded_grid(grid_id)
    try:
        org.create_building(
            current_user, grid, request.form.get("name", ""), request.form.get("address", "")
        )
    except org.OrgError as problem:
        db.session.rollback()
        return _grid_page(grid, str(problem), 422)
    return _done(grid.id)


def _loaded_building(building_id: int) -> Building:
    try:
        return org.managed_building(current_user, building_id)
    except org.NotInScope:
        _denied("building", building_id)


@bp.post("/org/buildings/<int:building_id>/rename")
@role_required(Role.ADMIN, Role.COMMUNITY_STAFF)
def org_rename_building(building_id: int):
    building = _loaded_building(building_id)
    grid = building.grid
    try:
        org.rename_building(current_user, building, request.form.get("name", ""))
    except org.OrgError as problem:
        db.session.rollback()
        return _grid_page(grid, str(problem), 422)
    return _done(grid.id)


@bp.post("/org/buildings/<int:building_id>/move")
@role_required(Role.ADMIN)
def org_move_building(building_id: int):
    building = _loaded_building(building_id)
    grid = building.grid
    try:
        org.move_building(current_user, building, _int(request.form.get("to_grid")))
    except org.OrgError as problem:
        db.session.rollback()
        return _grid_page(grid, str(problem), 422)
    return _done(grid.id)


@bp.post("/org/grids/<int:grid_id>/merge")
@role_required(Role.ADMIN)
def org_merge_grid(grid_id: int):
    """合并网格: asks first (the grid ends), then merges on the second POST with `confirm`."""
    grid = _loaded_grid(grid_id)
    target_id = _int(request.form.get("into_grid"))
    target = db.session.get(Grid, target_id) if target_id else None
    if request.form.get("confirm") != "yes":
        if target is None:
            return _grid_page(grid, _("Choose the grid to merge into."), 422)
        return render_template(
            "admin/org_confirm.html", grid=grid, target=target, summary=org.merge_summary(grid)
        )
    try:
        merged = org.merge_grid(current_user, grid.id, target_id)
    except org.OrgError as problem:
        db.session.rollback()
        return _grid_page(grid, str(problem), 422)
    return _done(merged.id)
