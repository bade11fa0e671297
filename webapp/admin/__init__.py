from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from webapp.admin import case_settings_views, settings_views, views  # noqa: E402,F401
