"""Work off the request path (ledger exports, register imports): one thread per job, with its own
app context and database session, so a long job shows progress instead of holding a request.

A job's state lives in its own table row (queued → running → done/failed), which the page polls;
the thread only moves that row along, so a server restart leaves a row a later run can pick up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

from webapp.extensions import db


def start_job(name: str, work: Callable[..., Any], *args: Any, **kwargs: Any) -> threading.Thread:
    """Run `work(*args, **kwargs)` in a daemon thread inside this app's context."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    thread = threading.Thread(
        target=_in_context, args=(app, work, args, kwargs), name=name, daemon=True
    )
    thread.start()
    return thread


def _in_context(app: Flask, work: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    with app.app_context():
        try:
            work(*args, **kwargs)
        finally:
            db.session.remove()
