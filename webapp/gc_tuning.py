"""Garbage-collector settings for a server process.

CPython collects its youngest generation every 700 new container objects. A supervision page at
district scale makes a few hundred thousand (result rows, dates, template fragments), so it ran
hundreds of collections, and each older-generation pass walked every long-lived object of the
app as well: measured on a street-month dashboard, half of the request's CPU (≈ 400 → 205 ms).
Reference counting frees almost everything a request makes anyway; the cycle collector only has
to catch the rare cycle, so it can run far less often. The app's own long-lived objects (models,
templates, routes) are frozen out of collections once it is built, as CPython's documentation
advises for pre-forking servers (`gc.freeze`).
"""

from __future__ import annotations

import gc

# (youngest generation's allocation budget, then how many collections of each generation before
# the next older one is collected). CPython's default is (700, 10, 10).
DEFAULT_THRESHOLD = (50_000, 20, 20)


def parse_threshold(value: str | None) -> tuple[int, int, int] | None:
    """GC_THRESHOLD from the environment: "50000,20,20", or "default" for CPython's own."""
    if value is None or not value.strip():
        return DEFAULT_THRESHOLD
    if value.strip().lower() == "default":
        return None
    parts = [int(part) for part in value.split(",")]
    if len(parts) != 3 or any(part < 1 for part in parts):
        raise ValueError(f"GC_THRESHOLD={value!r}: three positive whole numbers, e.g. 50000,20,20")
    return parts[0], parts[1], parts[2]


_tuned = False


def tune_once(threshold: tuple[int, int, int] | None) -> None:
    """For the first app a process builds (a gunicorn worker builds one; a test run many, and
    freezing each would keep every one of them alive)."""
    global _tuned
    if _tuned or threshold is None:
        return
    _tuned = True
    gc.collect()
    gc.freeze()
    gc.set_threshold(*threshold)
