from flask import Blueprint

bp = Blueprint("rounds", __name__)

from webapp.rounds import views  # noqa: E402,F401
