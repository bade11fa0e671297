from flask import Blueprint

bp = Blueprint("alerts", __name__)

from webapp.alerts import views  # noqa: E402,F401
