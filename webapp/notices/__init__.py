"""Notices for staff (DESIGN.md §6): write, schedule, publish and withdraw 公告/公示 at `/notices`.
The public side is webapp.public."""

from flask import Blueprint

bp = Blueprint("notices", __name__, url_prefix="/notices")


@bp.record_once
def _register_labels(state) -> None:
    from webapp.notices.labels import register

    register(state.app)


from webapp.notices import views  # noqa: E402,F401
