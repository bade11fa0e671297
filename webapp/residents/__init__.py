"""Residents' voice (DESIGN.md §6, §8): reports (随手拍) and suggestions (意见箱) on the public
site, their tracking pages (`/public/r/<number>`), staff intake from the phone, 12345 and 信访, the
grid worker's verification (`report.verify`), Open311 GeoReport v2 (`/open311/v2/…`) and the
printable 民情联系卡 of each building. Not to be confused with `reports/` (dashboards)."""

from flask import Blueprint

bp = Blueprint("residents", __name__)

from webapp.residents import card_views, open311, staff_views, views  # noqa: E402,F401


@bp.app_context_processor
def _resident_report_helpers() -> dict:
    def waiting_resident_reports(limit: int = 5) -> list:
        """For the worker's home (templates/residents/_my_reports.html): a function, so the home
        view needs no change and the query runs only on pages that include the partial."""
        from flask_login import current_user

        from webapp.auth.scope import compute_scope
        from webapp.models import Role
        from webapp.residents.services import reports_waiting

        scope = compute_scope(current_user, [Role.GRID_WORKER])
        return reports_waiting(sorted(scope.grid_ids), limit)

    from webapp.residents.services import SOURCE_LABELS

    return {
        "waiting_resident_reports": waiting_resident_reports,
        "report_source_labels": SOURCE_LABELS,
    }
