"""The public site at `/public` (DESIGN.md §6): community notice boards, notices, "find my grid
worker" and per-community figures, for residents without an account."""

from flask import Blueprint

bp = Blueprint("public", __name__, url_prefix="/public")


@bp.record_once
def _register_labels(state) -> None:
    from webapp.notices.labels import register

    register(state.app)


from webapp.public import views  # noqa: E402,F401


@bp.context_processor
def _public_helpers() -> dict:
    from webapp.notices.publicity import masked_title

    # 公示 titles name people too; public pages show them masked like the body.
    return {"public_title": masked_title}
