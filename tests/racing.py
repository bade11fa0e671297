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


def while_held_open(app: Flask, write: Callable[[], Any], then: Callable[[], Any], timeout=30):
    """What `then()` answers when it arrives while another writer holds the same rows: `write()`
    runs in its own thread and session, flushed and left uncommitted; `then()` starts on a thread
    of its own, gets a second to run into the held rows, and the write commits."""
    written, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        with app.app_context():
            try:
                write()
                db.session.flush()
                written.set()
                assert release.wait(timeout)
                db.session.commit()
            except BaseException as error:  # surfaced below; a thread must not swallow it
                errors.append(error)
                written.set()
            finally:
                db.session.remove()

    holder = threading.Thread(target=writer)
    holder.start()
    assert written.wait(10) and not errors, errors
    answers: list[Any] = []
    arriving = threading.Thread(target=lambda: answers.append(then()))
    arriving.start()
    arriving.join(1)
    release.set()
    holder.join(timeout)
    arriving.join(timeout)
    if errors:
        raise errors[0]
    assert answers, "the second writer did not finish"
    return answers[0]
