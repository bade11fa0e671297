from flask import redirect, render_template, url_for
from flask_login import current_user

from webapp.auth.scope import compute_scope, get_scoped_or_404, role_required
from webapp.models import Community, Role
from webapp.reports import bp, services
from webapp.rounds.services import summarize_grids

STAFF = (Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN)


@bp.get("/community")
@role_required(Role.COMMUNITY_STAFF)
def community_home():
    """社区概览 of the (first) community the user is staff of."""
    communities = services.communities_in_scope(
        compute_scope(current_user, roles=[Role.COMMUNITY_STAFF])
    )
    if len(communities) == 1:
        return render_community(communities[0])
    return render_template("reports/community_list.html", communities=communities)


@bp.get("/communities/<int:community_id>")
@role_required(*STAFF)
def community_page(community_id: int):
    return render_community(get_scoped_or_404(Community, community_id))


def render_community(community: Community):
    grids = services.grids_of(community)
    return render_template(
        "reports/community.html",
        community=community,
        summaries=summarize_grids(grids),
        workers=services.workers_by_grid([grid.id for grid in grids]),
    )


@bp.get("/communities")
@role_required(*STAFF)
def community_list():
    communities = services.communities_in_scope(compute_scope(current_user))
    if len(communities) == 1:
        return redirect(url_for("reports.community_page", community_id=communities[0].id), 303)
    return render_template("reports/community_list.html", communities=communities)
