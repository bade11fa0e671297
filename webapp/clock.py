"""The app's clock: real time, except in a demo or test environment that has been moved forward.

`flask sla tick --now …` outside production also moves this clock, so that after "a week later"
the pages agree with the tick: the board shows red what the tick found red. Production ignores
the offset entirely. Domain timestamps (records received, case actions, deadlines, "today")
come from here; security timestamps (logins, sessions, audit) always use real time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, g, has_app_context, has_request_context

from webapp.models import Setting, utcnow

OFFSET_KEY = "clock_offset_seconds"


def _offset() -> timedelta:
    if not has_app_context() or current_app.config.get("PRODUCTION"):
        return timedelta(0)
    if has_request_context() and "clock_offset" in g:
        return g.clock_offset
    from webapp.extensions import db

    setting = db.session.get(Setting, OFFSET_KEY)
    offset = timedelta(seconds=float(setting.value)) if setting and setting.value else timedelta(0)
    if has_request_context():
        g.clock_offset = offset
    return offset


def now() -> datetime:
    return utcnow() + _offset()


def travel_to(moment: datetime) -> timedelta:
    """Move the demo clock so that it reads `moment` now (never backwards past real time)."""
    from webapp.extensions import db

    if current_app.config.get("PRODUCTION"):
        raise RuntimeError("the clock cannot be moved in production")
    offset = max(moment - utcnow(), timedelta(0))
    setting = db.session.get(Setting, OFFSET_KEY)
    if setting is None:
        db.session.add(Setting(key=OFFSET_KEY, value=offset.total_seconds()))
    else:
        setting.value = offset.total_seconds()
    return offset


def reset() -> None:
    from webapp.extensions import db

    setting = db.session.get(Setting, OFFSET_KEY)
    if setting is not None:
        db.session.delete(setting)
