"""Values that are not JSON never enter the database or leave the server (DESIGN.md §7).

Python's `json` reads and writes NaN, ±Infinity and lone surrogates ("\\udc80") without a word,
and integers of any size. Stored once in an immutable record, such a value made every later pull
of that grid invalid JSON for everyone who shared it. So: ops are checked with
`first_unstorable()` before anything else reads them (one bad op is refused alone), the database's
JSON columns and every JSON answer are written by `strict_dumps`, which refuses them, and a
response that would carry one is a logged 500 for that one request rather than a broken body.
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_DEPTH = 64


def has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def first_unstorable(value: Any, path: str = "$", depth: int = 0) -> str | None:
    """Where `value` holds something that is not storable JSON (the JSON path), or None."""
    if depth > MAX_DEPTH:
        return path
    if isinstance(value, str):
        return path if has_lone_surrogate(value) else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return None if INT64_MIN <= value <= INT64_MAX else path
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or has_lone_surrogate(key):
                return f"{path}.?"
            found = first_unstorable(item, f"{path}.{key}", depth + 1)
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = first_unstorable(item, f"{path}[{index}]", depth + 1)
            if found:
                return found
        return None
    return None  # other types are the serializer's business (datetimes, UUIDs, …)


def finite_float(value: Any) -> float:
    """float(value), refusing NaN and ±Infinity (also spelled as text: "nan", "1e999").
    Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("not a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def strict_dumps(value: Any, **kwargs: Any) -> str:
    """json.dumps that raises ValueError on NaN/Infinity and on lone surrogates."""
    kwargs.setdefault("allow_nan", False)
    text = json.dumps(value, **kwargs)
    if has_lone_surrogate(text):
        raise ValueError("lone surrogate in JSON output")
    return text


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing what is not JSON rather than sending it."""

    ensure_ascii = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("default", self.default)
        kwargs.setdefault("ensure_ascii", self.ensure_ascii)
        kwargs.setdefault("sort_keys", self.sort_keys)
        return strict_dumps(obj, **kwargs)


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` limited to what a BIGINT column holds; a longer number does not match (404)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", INT64_MAX)
        super().__init__(map, *args, **kwargs)
