from flask import Blueprint

bp = Blueprint("auth", __name__)

from webapp.auth import password_views, views  # noqa: E402,F401
