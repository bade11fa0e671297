from flask import render_template

from webapp.admin import bp, services
from webapp.auth.scope import role_required
from webapp.models import Role


@bp.get("/org")
@role_required(Role.ADMIN)
def org_tree():
    """组织架构: street → community → grid, with household counts."""
    return render_template(
        "admin/org.html",
        streets=services.org_tree(),
        household_counts=services.household_counts_by_grid(),
        user_count=services.user_count(),
    )
