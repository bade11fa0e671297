"""消息: the in-app notification list, the channel that always works (DESIGN.md §6)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select, update

from webapp.alerts import bp
from webapp.extensions import db
from webapp.models import Notification, utcnow

PAGE_SIZE = 50


def unread_count(user_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


@bp.get("/notifications")
@login_required
def notification_list():
    notifications = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.created_at.desc())
        .limit(PAGE_SIZE)
    ).all()
    return render_template("alerts/list.html", notifications=notifications)


@bp.post("/notifications/read")
@login_required
def mark_read():
    """Mark one notification read (and follow it), or all of them."""
    query = update(Notification).where(
        Notification.user_id == current_user.id, Notification.read_at.is_(None)
    )
    notification_id = request.form.get("id", type=int)
    if notification_id:
        query = query.where(Notification.id == notification_id)
    db.session.execute(query.values(read_at=utcnow()))
    db.session.commit()
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target, 303)
    return redirect(url_for("alerts.notification_list"), 303)


@bp.post("/notifications/preferences")
@login_required
def set_preferences():
    """Alerts at once, or non-urgent ones as a daily summary (urgent ones always come at once)."""
    current_user.alert_digest = request.form.get("delivery") == "digest"
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("alerts.notification_list"), 303)


def init_app(app) -> None:
    @app.context_processor
    def _unread_notifications() -> dict:
        if current_user and current_user.is_authenticated:
            return {"unread_notifications": unread_count(current_user.id)}
        return {"unread_notifications": 0}
