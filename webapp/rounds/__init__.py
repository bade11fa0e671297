from flask import Blueprint

bp = Blueprint("rounds", __name__)

from webapp.rounds import (  # noqa: E402,F401
    home_views,  # noqa: E402,F401
    photo_views,  # noqa: E402,F401
    profile_views,
    record_views,
    register_views,  # noqa: E402,F401
    reveal_views,  # noqa: E402,F401
    views,  # noqa: E402,F401
)
