"""考评: judging a grid, or a grid worker, by outcomes (DESIGN.md §1: never raw record counts,
which invite padding).

Four rates, each a share of something the worker cannot inflate by logging more:

- on time (按期办结率): cases closed in the period that were resolved within their time limit;
- satisfaction (满意率): 回访 in the period where the resident was (basically) satisfied;
- care (探访按时率): residents on the care schedule whose check was not overdue at the period's end;
- settled locally (就地化解率): cases resolved in the period while still at grid level.

score = Σ weight × rate / Σ weight over the rates that have data (a grid with no case closed is
judged on the others rather than given 0 or 100), × 100. Grades by admin-set thresholds.
A worker's figures are those of the grids they serve: records belong to the grid, not the person.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Membership, Role, ScopeKind, Setting, User
from webapp.public.figures import combine
from webapp.reports.dashboard import Dashboard, UnitFigures

GRADES_KEY = "evaluation_grades"
# Lowest score of each grade, best first; below the last one is 差.
DEFAULT_THRESHOLDS: dict[str, int] = {"good": 90, "fairly_good": 80, "average": 60}
GRADE_LABELS = {
    "good": _l("Good"),
    "fairly_good": _l("Fairly good"),
    "average": _l("Average"),
    "poor": _l("Poor"),
}
WEIGHTS: dict[str, int] = {"on_time": 35, "satisfaction": 25, "care": 25, "local": 15}
COMPONENT_LABELS = {
    "on_time": _l("Resolved on time"),
    "satisfaction": _l("Satisfied at follow-up"),
    "care": _l("Elderly checks on time"),
    "local": _l("Settled in the grid"),
}


def formula_text() -> str:
    from flask_babel import gettext as _

    parts = " + ".join(f"{WEIGHTS[key]}% × {COMPONENT_LABELS[key]}" for key in WEIGHTS)
    return _(
        "Score = (%(parts)s) ÷ the weights of the rates that have data. Record counts are not "
        "used.",
        parts=parts,
    )


def grade_thresholds() -> dict[str, int]:
    setting = db.session.get(Setting, GRADES_KEY)
    saved: Any = setting.value if setting is not None else None
    thresholds = dict(DEFAULT_THRESHOLDS)
    if isinstance(saved, dict):
        for key, value in saved.items():
            if key in thresholds and isinstance(value, int) and 0 <= value <= 100:
                thresholds[key] = value
    return thresholds


def save_grade_thresholds(thresholds: dict[str, int]) -> dict[str, int]:
    """Store the thresholds (the caller commits). They must fall strictly, best grade first."""
    values = [thresholds[key] for key in DEFAULT_THRESHOLDS]
    if any(not 0 <= v <= 100 for v in values) or values != sorted(values, reverse=True):
        raise ValueError("thresholds must run from 100 down to 0, best grade first")
    if len(set(values)) != len(values):
        raise ValueError("thresholds must differ")
    value = {key: int(thresholds[key]) for key in DEFAULT_THRESHOLDS}
    setting = db.session.get(Setting, GRADES_KEY)
    if setting is None:
        db.session.add(Setting(key=GRADES_KEY, value=value))
    else:
        setting.value = value
    return value


@dataclass(frozen=True)
class Evaluation:
    kind: str  # "grid" | "worker"
    name: str
    detail: str  # the grids a worker serves, or the community of a grid
    rates: dict[str, float | None]
    score: float | None
    grade: str | None  # a GRADE_LABELS key; None when nothing could be judged


def evaluate(
    unit: UnitFigures, thresholds: dict[str, int]
) -> tuple[dict, float | None, str | None]:
    rates = {
        "on_time": unit.outcomes.on_time_rate,
        "satisfaction": unit.outcomes.satisfied_rate,
        "care": unit.care_rate,
        "local": unit.local_rate,
    }
    judged = {key: rate for key, rate in rates.items() if rate is not None}
    if not judged:
        return rates, None, None
    weight = sum(WEIGHTS[key] for key in judged)
    score = round(100 * sum(WEIGHTS[key] * rate for key, rate in judged.items()) / weight, 1)
    for grade, lowest in thresholds.items():
        if score >= lowest:
            return rates, score, grade
    return rates, score, "poor"


def grid_evaluations(board: Dashboard) -> list[Evaluation]:
    thresholds = grade_thresholds()
    result = []
    for unit in board.grids:
        rates, score, grade = evaluate(unit, thresholds)
        result.append(
            Evaluation("grid", unit.name, board.grid_names[unit.id][1], rates, score, grade)
        )
    return result


def worker_evaluations(board: Dashboard) -> list[Evaluation]:
    """Each active grid worker of the area's grids, judged on all the grids they serve here."""
    thresholds = grade_thresholds()
    by_id = {unit.id: unit for unit in board.grids}
    rows = db.session.execute(
        select(User, Membership.scope_id)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.role == Role.GRID_WORKER,
            Membership.scope_kind == ScopeKind.GRID,
            Membership.scope_id.in_(list(by_id)),
            User.is_active.is_(True),
        )
        .order_by(User.username, Membership.scope_id)
    )
    served: dict[int, tuple[User, list[UnitFigures]]] = {}
    for user, grid_id in rows:
        served.setdefault(user.id, (user, []))[1].append(by_id[grid_id])
    result = []
    for user, units in served.values():
        total = UnitFigures(
            "worker",
            user.id,
            user.display_name,
            combine([u.outcomes for u in units], board.period.start),
        )
        for unit in units:
            total.add(unit)
        rates, score, grade = evaluate(total, thresholds)
        names = "、".join(unit.name for unit in units)
        result.append(Evaluation("worker", user.display_name, names, rates, score, grade))
    return result
