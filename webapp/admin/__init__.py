from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from webapp.admin import (  # noqa: E402,F401
    audit_views,
    case_settings_views,
    handover_views,
    import_views,
    org_views,
    quarantine_views,
    settings_views,
    user_views,
    views,
)
