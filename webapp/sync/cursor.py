"""Pull cursors: opaque to the phone, signed so that editing one cannot widen what it pulls.

A cursor is compact JSON, base64url-encoded and signed with the app's secret key (itsdangerous).
It says how far the phone has read the change sequence and which grids the phone holds data for,
plus where an unfinished multi-page pull stands. See webapp/sync/pull.py for the phases.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

CURSOR_VERSION = 1
EVERYTHING = "*"  # the grid list of a scope that covers every grid (admins)

GridSet = list[int] | str  # sorted grid ids, or EVERYTHING


class BadCursor(ValueError):
    """Not a cursor this server made for this user: the phone must start over from empty."""


@dataclass(frozen=True)
class Cursor:
    user_id: int
    # Every change with change_seq <= seq has been delivered (or, in the stream phase, every
    # change up to the key below).
    seq: int
    # Grids whose data the phone holds once this pull is finished.
    grids: GridSet
    # Care tasks depend on the date and on the interval settings, not only on rows: a new day or
    # new intervals refresh them.
    day: str
    intervals: str
    # Scheduled notices become visible at their publish_at with no write to mark it: this is
    # the time up to which they have been looked for.
    notices_at: str = ""
    # "x": deleting grids that left the scope; "a": snapshot of grids that joined it (a first pull
    # is one of these); "s": the change stream; "n": notices whose publish_at came; "c": care
    # task refresh.
    phase: str = "s"
    # Position inside the x/a/c phase: [entity index, last id sent]; None: at its start.
    key: list[Any] | None = None
    # Position inside change_seq `seq` in the stream: [entity index, last id sent]; None: all of
    # `seq` is delivered. Kept apart from `key` so a scope change mid-stream resumes it after.
    seq_key: list[Any] | None = None
    add_grids: GridSet = field(default_factory=list)
    drop_grids: list[int] = field(default_factory=list)

    def but(self, **changes: Any) -> Cursor:
        return replace(self, **changes)


_FIELDS = {
    "u": "user_id",
    "s": "seq",
    "g": "grids",
    "d": "day",
    "i": "intervals",
    "n": "notices_at",
    "p": "phase",
    "k": "key",
    "sk": "seq_key",
    "ag": "add_grids",
    "dg": "drop_grids",
}
_PHASES = ("x", "a", "s", "n", "c")


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="gridrounds-sync-cursor")


def encode_cursor(cursor: Cursor) -> str:
    values = asdict(cursor)
    payload: dict[str, Any] = {"v": CURSOR_VERSION}
    for short, name in _FIELDS.items():
        value = values[name]
        if value in (None, []) and short in ("k", "sk", "ag", "dg"):
            continue
        payload[short] = value
    return _serializer().dumps(payload)


def decode_cursor(token: str, user_id: int) -> Cursor:
    try:
        payload = _serializer().loads(token)
    except BadSignature:
        raise BadCursor("signature") from None
    if not isinstance(payload, dict) or payload.get("v") != CURSOR_VERSION:
        raise BadCursor("version")
    try:
        cursor = Cursor(
            user_id=int(payload["u"]),
            seq=int(payload["s"]),
            grids=payload["g"],
            day=str(payload["d"]),
            intervals=str(payload["i"]),
            notices_at=str(payload.get("n", "")),
            phase=str(payload.get("p", "s")),
            key=payload.get("k"),
            seq_key=payload.get("sk"),
            add_grids=payload.get("ag", []),
            drop_grids=payload.get("dg", []),
        )
    except (KeyError, TypeError, ValueError):
        raise BadCursor("shape") from None
    if cursor.user_id != user_id or cursor.phase not in _PHASES:
        raise BadCursor("user")
    return cursor
