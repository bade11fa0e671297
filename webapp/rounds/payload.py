"""Reading an op payload field by field, collecting every problem before refusing.

A worker who fills a form on a phone wants to hear about all bad fields at once, and an offline op
that comes back `rejected` should say everything that is wrong with it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from webapp.jsonsafe import INT64_MAX, INT64_MIN, finite_float
from webapp.moments import OutOfWindow, parse_moment
from webapp.ops import Invalid

MAX_TEXT = 4000
MAX_ACCURACY_M = 100_000  # a phone that far off has no location worth keeping


class PayloadReader:
    def __init__(self, payload: dict[str, Any] | None):
        self.payload = payload if isinstance(payload, dict) else {}
        self.errors: dict[str, str] = {}
        if not isinstance(payload, dict):
            self.errors["payload"] = _("The payload must be an object.")

    def fail(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def has(self, field: str) -> bool:
        return self.payload.get(field) not in (None, "", [])

    def integer(self, field: str, *, required: bool = False) -> int | None:
        value = self.payload.get(field)
        if value in (None, ""):
            if required:
                self.fail(field, _("This field is required."))
            return None
        if isinstance(value, bool):
            self.fail(field, _("Must be a whole number."))
            return None
        try:
            number = int(value)
        except (TypeError, ValueError, OverflowError):
            self.fail(field, _("Must be a whole number."))
            return None
        if not INT64_MIN <= number <= INT64_MAX:
            self.fail(field, _("This number is too large."))
            return None
        return number

    def text(self, field: str, *, required: bool = False, max_length: int = MAX_TEXT) -> str:
        value = self.payload.get(field, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.fail(field, _("Must be text."))
            return ""
        value = value.strip()
        if required and not value:
            self.fail(field, _("This field is required."))
        if len(value) > max_length:
            self.fail(field, _("At most %(n)d characters.", n=max_length))
        return value

    def choice(self, field: str, allowed: tuple[str, ...], *, default: str | None = None) -> str:
        value = self.payload.get(field) or default
        if value is None:
            self.fail(field, _("Please choose one."))
            return ""
        if value not in allowed:
            self.fail(field, _("Not one of the allowed choices."))
            return ""
        return value

    def codes(self, field: str, allowed: tuple[str, ...]) -> list[str]:
        value = self.payload.get(field) or []
        if not isinstance(value, list) or any(code not in allowed for code in value):
            self.fail(field, _("Contains a choice that does not exist."))
            return []
        return list(dict.fromkeys(value))  # keep order, drop repeats

    def integers(self, field: str) -> list[int]:
        value = self.payload.get(field) or []
        if not isinstance(value, list):
            self.fail(field, _("Must be a list."))
            return []
        try:
            ids = list(dict.fromkeys(int(v) for v in value if not isinstance(v, bool)))
        except (TypeError, ValueError, OverflowError):
            self.fail(field, _("Must be a list of ids."))
            return []
        if any(not INT64_MIN <= v <= INT64_MAX for v in ids):
            self.fail(field, _("This number is too large."))
            return []
        return ids

    def boolean(self, field: str, *, default: bool = False) -> bool:
        value = self.payload.get(field, default)
        if isinstance(value, bool):
            return value
        if value in ("true", "on", "1", 1):
            return True
        if value in ("false", "off", "0", 0, "", None):
            return False
        self.fail(field, _("Must be yes or no."))
        return default

    def moment(self, field: str, *, default: datetime, not_after: datetime) -> datetime:
        """An ISO 8601 time; without an offset it is Shanghai wall-clock time (what a phone's
        datetime-local field sends). Refused when more than a day in the future."""
        value = self.payload.get(field)
        if value in (None, ""):
            return default
        try:
            parsed = parse_moment(value)
        except OutOfWindow as error:
            self.fail(field, str(error))
            return default
        except ValueError:
            self.fail(field, _("Not a valid date and time."))
            return default
        if parsed > not_after:
            self.fail(field, _("Cannot be in the future."))
        return parsed

    def location(self, field: str = "location") -> dict[str, float] | None:
        value = self.payload.get(field)
        if value in (None, "", {}):
            return None
        try:
            lat, lng = finite_float(value["lat"]), finite_float(value["lng"])
            accuracy = value.get("accuracy_m")
            accuracy = None if accuracy in (None, "") else finite_float(accuracy)
        except (TypeError, ValueError, KeyError, OverflowError):
            self.fail(field, _("Not a valid location."))
            return None
        out_of_range = accuracy is not None and not 0 <= accuracy <= MAX_ACCURACY_M
        if not (-90 <= lat <= 90 and -180 <= lng <= 180) or out_of_range:
            self.fail(field, _("Not a valid location."))
            return None
        location = {"lat": round(lat, 6), "lng": round(lng, 6)}
        if accuracy is not None:
            location["accuracy_m"] = round(accuracy, 1)
        return location

    def check(self) -> None:
        if self.errors:
            raise Invalid(self.errors)
