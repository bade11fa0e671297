"""A case's life, played forward from its opening (DESIGN.md §4).

Each step comes some hours after the one before; the story stops at the first step that would
fall after `now`, and the state it stops in is the case's status. Old cases therefore tend to be
closed and recent ones open, the way a real board looks, and every timeline is consistent by
construction: each entry starts from the state the previous one left.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from webapp.cases import limits
from webapp.demo import names
from webapp.demo.clock import SHANGHAI, add_workdays, local_time
from webapp.models import CaseLevel, CaseStatus

# Working days a stage may take before its red threshold. The real limits are settings owned by
# the cases package; the demo only needs plausible due times.
STAGE_WORKDAYS = {
    "open": 3,
    "open_urgent": 1,
    "escalated": 1,
    "community": 5,
    "street": 10,
    "resolved": 3,
}


class CaseStory:
    def __init__(
        self,
        rng: random.Random,
        *,
        opened_at: datetime,
        now: datetime,
        category: str,
        severity: str,
        worker_id: int,
        community_staff_id: int | None,
        street_staff_id: int | None,
        next_event_id: Callable[[], int],
    ):
        self.rng = rng
        self.id = uuid.UUID(int=rng.getrandbits(128), version=4)
        self.category, self.severity = category, severity
        self.now = now
        self.t = opened_at
        self.worker = worker_id
        # The small scale has no staff account for its second and third community: their
        # actions carry no actor id, like a system entry.
        self.community_staff = community_staff_id
        self.street_staff = street_staff_id
        self.next_event_id = next_event_id
        self.status, self.level = "", CaseLevel.GRID.value
        self.stage_started_at = opened_at
        self.department = ""
        self.assigned_due: datetime | None = None
        self.supervise_deadline: datetime | None = None
        self.result = ""
        self.satisfaction = ""
        self.resolved_at: datetime | None = None
        self.closed_at: datetime | None = None
        self.events: list[dict[str, Any]] = []
        # Some cases move briskly, some drag on: that spread is what yellow and red show.
        self.pace = rng.choice([0.5, 0.8, 1.0, 1.0, 1.5, 2.5, 4.0])

    def deadlines(self) -> tuple[datetime | None, datetime | None]:
        """(yellow, red) of the current stage, by the same default limits the app uses."""
        stage = limits.stage_of(self.status)
        if stage is None:
            return None, None
        if self.status == CaseStatus.ACCEPTED and self.assigned_due is not None:
            return self.assigned_due - timedelta(days=1), self.assigned_due
        limit = limits.limit_for(stage, self.category, self.severity, limits.DEFAULT_LIMITS)
        return (
            add_workdays(self.stage_started_at, limit.yellow),
            add_workdays(self.stage_started_at, limit.red),
        )

    def play(self) -> None:
        self._event(
            "open", self.worker, CaseStatus.OPEN, CaseLevel.GRID, note="现场未能解决，转为案件。"
        )
        if self.severity == "urgent":
            # 越级: an urgent matter goes straight to the street and needs no local attempt.
            if not self._later(0.3, 3):
                return
            self._event(
                "request_escalation",
                self.worker,
                CaseStatus.ESCALATED,
                CaseLevel.STREET,
                note="紧急情况，越级上报街道。",
                data={"skip_level": True},
            )
        else:
            if not self._escalate_from_grid() or not self._accept_and_assign("community"):
                return
            if self.rng.random() < 0.3:
                if not self._later(24, 90):
                    return
                self._event(
                    "request_escalation",
                    self._staff(),
                    CaseStatus.ESCALATED,
                    CaseLevel.STREET,
                    note="社区协调难度较大，申请街道协调。",
                )
        if self.level == CaseLevel.STREET:
            if not self._accept_and_assign("street") or not self._maybe_supervise():
                return
        if not self._maybe_extend():
            return
        self._resolve_and_follow_up()

    # steps

    def _escalate_from_grid(self) -> bool:
        noted = False
        for _ in range(self.rng.choice([0, 1, 1, 2])):
            if not self._later(2, 30):
                return False
            self._event("note", self.worker, note=self.rng.choice(names.CASE_NOTES))
            noted = True
        if noted:
            if not self._later(20, 70):
                return False
            self._event(
                "request_escalation",
                self.worker,
                CaseStatus.ESCALATED,
                CaseLevel.COMMUNITY,
                note="网格内协调未果，申请上报社区。",
            )
            return True
        # No local attempt was logged, so only the grid's red threshold could move it up.
        red = add_workdays(self.stage_started_at, STAGE_WORKDAYS["open"])
        if red >= self.now:
            return False
        self.t = red
        self._event(
            "auto_escalate",
            None,
            CaseStatus.ESCALATED,
            CaseLevel.COMMUNITY,
            note="超时未处置，系统自动上报。",
        )
        return True

    def _accept_and_assign(self, level: str) -> bool:
        if not self._later(2, 20):
            return False
        self._event("accept", self._staff(), CaseStatus.ACCEPTED, note="已受理。")
        if not self._later(0.2, 2):
            return False
        self.department = self.rng.choice(names.DEPARTMENTS_BY_CATEGORY[self.category])
        self.assigned_due = add_workdays(self.t, STAGE_WORKDAYS[level])
        self._event(
            "assign",
            self._staff(),
            note=f"交{self.department}办理。",
            data={"department": self.department, "due_at": self.assigned_due.isoformat()},
        )
        return True

    def _maybe_supervise(self) -> bool:
        if self.rng.random() >= 0.35:
            return True
        if not self._later(1, 24):
            return False
        self.supervise_deadline = add_workdays(self.t, self.rng.randint(2, 4))
        self._event(
            "supervise",
            self.street_staff,
            note="请相关部门限期办结。",
            data={"deadline": self.supervise_deadline.isoformat()},
        )
        return True

    def _maybe_extend(self) -> bool:
        if self.rng.random() >= 0.1:
            return True
        if not self._later(24, 72):
            return False
        self._event(
            "request_extension", self._staff(), note="需协调多个部门，申请延期。", data={"days": 5}
        )
        if not self._later(2, 20):
            return False
        self.assigned_due = add_workdays(self.assigned_due or self.t, 5)
        self._event(
            "approve_extension", self.street_staff, data={"due_at": self.assigned_due.isoformat()}
        )
        return True

    def _resolve_and_follow_up(self) -> None:
        for attempt in range(2):
            if not self._later(24, 150):
                return
            self.result = self.rng.choice(names.CASE_RESULTS)
            self.resolved_at = self.t
            self._event(
                "resolve",
                self._staff(),
                CaseStatus.RESOLVED,
                note=self.result,
                data={"result": self.result},
            )
            if not self._later(20, 90):
                return
            satisfaction = self.rng.choices(
                ["satisfied", "basically_satisfied", "dissatisfied"], [70, 22, 8]
            )[0]
            if attempt == 1 and satisfaction == "dissatisfied":
                satisfaction = "basically_satisfied"
            note = self.rng.choice(names.FOLLOW_UP_NOTES[satisfaction])
            data = {"satisfaction": satisfaction, "notes": note}
            if satisfaction == "dissatisfied":
                # 回访不满意: back to the handling department for another try.
                self._event("follow_up", self.worker, CaseStatus.ACCEPTED, note=note, data=data)
                self.result, self.resolved_at = "", None
                self.assigned_due = add_workdays(self.t, 5)
                continue
            self.satisfaction = satisfaction
            self.closed_at = self.t
            self._event("follow_up", self.worker, CaseStatus.CLOSED, note=note, data=data)
            return

    # mechanics

    def _later(self, lo_hours: float, hi_hours: float) -> bool:
        """Move the clock on; False (and no move) when that would pass `now`."""
        t = self.t + timedelta(hours=self.rng.uniform(lo_hours, hi_hours) * self.pace)
        local = t.astimezone(SHANGHAI)
        if local.hour >= 18:  # people act in office hours: the next morning
            t = local_time(local.date() + timedelta(days=1), 8, self.rng.randrange(20, 60))
        elif local.hour < 8:
            t = local_time(local.date(), 8, self.rng.randrange(20, 60))
        if t >= self.now:
            return False
        self.t = t
        return True

    def _staff(self) -> int | None:
        return self.street_staff if self.level == CaseLevel.STREET else self.community_staff

    def _event(
        self,
        action: str,
        actor: int | None,
        to_status: str | None = None,
        to_level: str | None = None,
        note: str = "",
        data: dict[str, Any] | None = None,
    ) -> None:
        to_status = to_status or self.status
        to_level = to_level or self.level
        self.events.append(
            {
                "id": self.next_event_id(),
                "case_id": self.id,
                "actor_id": actor,
                "at": self.t,
                "action": action,
                "from_status": self.status,
                "to_status": str(to_status),
                "from_level": self.level,
                "to_level": str(to_level),
                "note": note,
                "data": data or {},
            }
        )
        if (to_status, to_level) != (self.status, self.level):
            self.stage_started_at = self.t
        self.status, self.level = str(to_status), str(to_level)
