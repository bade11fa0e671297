from flask import Blueprint

bp = Blueprint("reports", __name__)

from webapp.reports import dashboard_views, settings_views, views  # noqa: E402,F401
