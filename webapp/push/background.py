"""Development convenience: drain the push outbox every 30 s in a daemon thread, so `make run`
delivers pushes without cron. Production uses `flask push send-pending` from cron instead (one
sender, outside every web worker)."""

from __future__ import annotations

import threading

from flask import Flask

INTERVAL_SECONDS = 30


def start_sender_thread(app: Flask) -> threading.Thread:
    from webapp.extensions import db
    from webapp.push import sender

    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(INTERVAL_SECONDS):
            with app.app_context():
                try:
                    sender.send_pending()
                except sender.NoKeys:
                    pass  # no keys yet: nothing can be sent, and nothing is lost
                except Exception:  # keep the thread alive; the queue keeps the messages
                    app.logger.exception("push sender thread")
                finally:
                    db.session.remove()

    thread = threading.Thread(target=loop, name="push-sender", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread
