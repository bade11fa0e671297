"""/admin/audit: the audit log, browsable with filters and exportable (DESIGN.md §7). Thin."""

from __future__ import annotations

from flask import Response, render_template, request, stream_with_context
from flask_login import current_user

from webapp.admin import bp
from webapp.admin.audit_log import (
    PAGE_SIZE,
    audit_page,
    export_csv,
    known_actions,
    known_target_types,
    read_filters,
)
from webapp.audit import record_audit
from webapp.auth.scope import role_required
from webapp.extensions import db
from webapp.i18n import local_today
from webapp.models import Role


@bp.get("/audit")
@role_required(Role.ADMIN)
def audit_log():
    filters, errors = read_filters(request.args)
    rows, total = audit_page(filters)
    pages = max(1, -(-total // PAGE_SIZE))
    context = {
        "rows": rows,
        "total": total,
        "filters": filters,
        "errors": errors,
        "page": filters.page,
        "pages": pages,
        "actions": known_actions(),
        "target_types": known_target_types(),
    }
    if request.headers.get("HX-Request"):
        return render_template("admin/_audit_rows.html", **context)
    return render_template("admin/audit.html", **context), 400 if errors else 200


@bp.get("/audit/export.csv")
@role_required(Role.ADMIN)
def audit_export():
    filters, _errors = read_filters(request.args)  # bad filters are left out, as on the page
    # The export is itself audited (who took which slice of the log), committed before streaming.
    record_audit(
        "audit_export", actor=current_user, target_type="audit_log", **filters.query_args()
    )
    db.session.commit()
    response = Response(stream_with_context(export_csv(filters)), mimetype="text/csv")
    name = f"audit-{local_today().isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
