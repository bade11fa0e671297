"""Running the same command twice at the same moment, as two servers' cron jobs do."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Flask

from webapp.extensions import db


def run_together(app: Flask, *runs: Callable[[], Any], timeout: float = 60) -> list[Any]:
    """Call each of `runs` on its own thread with its own app context and database session,
    started together; returns their results in order. A failure in any run fails the test."""
    start = threading.Barrier(len(runs))
    results: list[Any] = [None] * len(runs)
    errors: list[BaseException] = []

    def run(index: int, target: Callable[[], Any]) -> None:
        with app.app_context():
            try:
                start.wait(timeout)
                results[index] = target()
                db.session.commit()
            except BaseException as error:  # surfaced below; a thread must not swallow it
                errors.append(error)
                start.abort()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a run did not finish"
    if errors:
        raise errors[0]
    return results


def meet_after(function: Callable[..., Any], parties: int = 2, timeout: float = 20):
    """`function`, made to wait after it returns until `parties` callers have got that far: runs
    that read "nothing written yet" all read it before any of them writes."""
    barrier = threading.Barrier(parties)

    def wrapped(*args, **kwargs):
        result = function(*args, **kwargs)
        barrier.wait(timeout)
        return result

    return wrapped
