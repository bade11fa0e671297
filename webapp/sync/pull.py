"""`GET /api/v1/sync/pull` (DESIGN.md §5): everything in the user's scope, then what changed.

A pull walks up to four phases, each resumable from the cursor at any row:

- `x` drop: grids that left the user's scope since the cursor was made. Every row of theirs the
  phone may hold comes as `deleted: true` (ids only; nothing else of them is read).
- `a` add: a snapshot of grids that joined the scope; an empty cursor is a snapshot of all of
  them. Ordered by (entity, id). It starts at sequence number U, read before any row.
- `s` stream: rows with change_seq > the cursor's, ordered by (change_seq, entity, id), plus
  Tombstone rows. Each pull reads the counter first and reads no row above it: writers take
  sequence numbers under a lock held until commit (webapp/changes.py), so everything at or below
  the counter has committed, and a row committing later gets a higher number and comes next time.
- `n` notices coming due: a scheduled notice becomes visible at its publish_at with no write to
  mark it, so each pull sends the published notices whose publish_at passed since the last one.
- `c` care refresh: due care tasks depend on the date and the interval settings, not only on rows,
  so a new day (or new intervals) re-sends them. Between refreshes, the stream sends the care task
  of every resident whose resident row, household row or elderly check changed.

Comparing the cursor's grid list with the scope (rather than trusting the admin screens to write
tombstones) also makes a grid that comes back into scope arrive whole.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from webapp import clock as app_clock
from webapp.auth.scope import Scope, compute_scope, scoped
from webapp.changes import current_change_seq
from webapp.extensions import db
from webapp.i18n import local_today
from webapp.models import (
    Community,
    ElderlyCheck,
    Grid,
    Household,
    Notice,
    NoticeStatus,
    Resident,
    Tombstone,
    User,
)
from webapp.privacy import viewer_for
from webapp.rounds.care import (
    OTHER_CARE_FLAGS,
    DueCheck,
    care_intervals,
    due_elderly_checks,
    eighty_years_before,
)
from webapp.sync.cursor import (
    EVERYTHING,
    BadCursor,
    Cursor,
    GridSet,
    decode_cursor,
    encode_cursor,
)
from webapp.sync.entities import (
    ENTITIES,
    ENTITY_INDEX,
    SOURCES,
    TOMBSTONE_INDEX,
    UUID_ENTITIES,
    Clock,
    Source,
    care_task_data,
    deleted,
    entity_id_from_text,
    iso,
)

DEFAULT_LIMIT = 500
MAX_LIMIT = 2000
RECORD_ENTITIES = ("visit", "dispute", "elderly_check", "hazard")


@dataclass
class Pull:
    """One pull request: who asks, what they hold now, and the page being filled."""

    user: User
    scope: Scope
    clock: Clock
    held: GridSet
    intervals_tag: str
    limit: int
    changes: list[dict[str, Any]] = field(default_factory=list)
    _streets: dict[Any, list[int]] = field(default_factory=dict)
    _all_grids: set[int] | None = None

    @property
    def room(self) -> int:
        return self.limit - len(self.changes)

    def all_grid_ids(self) -> set[int]:
        if self._all_grids is None:
            self._all_grids = set(db.session.scalars(select(Grid.id)))
        return self._all_grids

    def expand(self, grids: GridSet) -> set[int]:
        return self.all_grid_ids() if grids == EVERYTHING else set(grids)

    def grid_ids(self, grids: GridSet) -> list[int]:
        return sorted(self.expand(grids))

    def community_ids(self, grids: GridSet) -> list[int]:
        query = select(Grid.community_id).distinct()
        if grids != EVERYTHING:
            query = query.where(Grid.id.in_(grids))
        return sorted(db.session.scalars(query))

    def street_ids(self, grids: GridSet) -> list[int]:
        token = grids if grids == EVERYTHING else tuple(grids)
        if token not in self._streets:
            query = select(Community.street_id).distinct().join(Grid)
            if grids != EVERYTHING:
                query = query.where(Grid.id.in_(grids))
            self._streets[token] = sorted(db.session.scalars(query))
        return self._streets[token]


def held_grids(scope: Scope) -> GridSet:
    return EVERYTHING if scope.everything else sorted(scope.grid_ids)


def intervals_tag() -> str:
    text = json.dumps(care_intervals(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def pull_changes(user: User, token: str, limit: int) -> dict[str, Any]:
    """One page of changes for `user` after `token` (empty: from nothing). Raises BadCursor."""
    scope = compute_scope(user)
    now = app_clock.now()
    clock = Clock(now, local_today(), viewer_for(user))
    pull = Pull(user, scope, clock, held_grids(scope), intervals_tag(), limit)
    if token:
        cursor = decode_cursor(token, user.id)
    else:
        # Read before any row: the stream resumes above this, so nothing written while the
        # snapshot pages are read is missed.
        cursor = Cursor(
            user_id=user.id,
            seq=current_change_seq(),
            grids=pull.held,
            day=pull.clock.today.isoformat(),
            intervals=pull.intervals_tag,
            notices_at=iso(pull.clock.now),
            phase="a",
            add_grids=pull.held,
        )
    cursor = _follow_scope(cursor, pull)

    done = False
    while pull.room > 0:
        phase = cursor.phase
        cursor, finished = PHASES[phase](cursor, pull)
        if not finished:
            break
        if phase == "x":
            cursor = cursor.but(phase="a", key=None, drop_grids=[])
        elif phase == "a":
            cursor = cursor.but(phase="s", key=None, add_grids=[])
        elif phase == "s" and cursor.notices_at < iso(pull.clock.now):
            cursor = cursor.but(phase="n", key=[iso(pull.clock.now), None])
        elif phase in ("s", "n") and _care_is_stale(cursor, pull):
            cursor = cursor.but(phase="c", key=None)
        else:
            cursor = cursor.but(
                phase="s",
                key=None,
                day=pull.clock.today.isoformat(),
                intervals=pull.intervals_tag,
            )
            done = True
            break
    return {"changes": pull.changes, "next_cursor": encode_cursor(cursor), "has_more": not done}


def _care_is_stale(cursor: Cursor, pull: Pull) -> bool:
    return cursor.day != pull.clock.today.isoformat() or cursor.intervals != pull.intervals_tag


def _follow_scope(cursor: Cursor, pull: Pull) -> Cursor:
    """Rewrite the cursor's plan when the scope differs from the grids the phone holds."""
    if cursor.grids == pull.held:
        return cursor
    old, new = pull.expand(cursor.grids), pull.expand(pull.held)
    if cursor.phase in ("x", "a"):
        # Mid-snapshot: start the plan over. Dropping more than needed is harmless, and a grid
        # that was being dropped but is back is added again after the drops.
        drop = set(cursor.drop_grids) | (old - new)
        add = (pull.expand(cursor.add_grids) | (new - old) | set(cursor.drop_grids)) & new
    else:
        drop, add = old - new, new - old
    add_grids: GridSet = EVERYTHING if pull.held == EVERYTHING and add == new else sorted(add)
    return cursor.but(
        grids=pull.held,
        drop_grids=sorted(drop),
        add_grids=add_grids,
        phase="x" if drop else "a",
        key=None,
    )


# --- queries ------------------------------------------------------------------------------------


def _in_grids(column: Any, grids: GridSet) -> list[Any]:
    return [] if grids == EVERYTHING else [column.in_(list(grids))]


def _live_rows(source: Source, pull: Pull, grids: GridSet) -> Any:
    """`scoped()` rows of `source`, narrowed to `grids` (a part of the scope)."""
    query = scoped(source.model, scope=pull.scope)
    if source.grid_column is not None:
        return query.where(*_in_grids(source.grid_column, grids))
    if grids == EVERYTHING:
        return query
    return query.where(_notice_reach(pull, grids))


def _notice_reach(pull: Pull, grids: GridSet) -> Any:
    """A notice reaches the phones of the communities it is for: a street-wide notice (no
    communities) every grid of its street, a community notice only that community's grids."""
    community_ids = pull.community_ids(grids)
    return and_(
        Notice.street_id.in_(pull.street_ids(grids)),
        or_(
            ~Notice.communities.any(),
            Notice.communities.any(Community.id.in_(community_ids)),
        ),
    )


def _intersect(grids: GridSet, held: GridSet) -> GridSet:
    if grids == EVERYTHING:
        return held
    if held == EVERYTHING:
        return grids
    return sorted(set(grids) & set(held))


def _due(pull: Pull, grids: GridSet) -> dict[int, DueCheck]:
    grid_ids = pull.grid_ids(grids)
    due = due_elderly_checks(grid_ids, pull.clock.today) if grid_ids else []
    return {check.resident.id: check for check in due}


def _care_candidates(pull: Pull) -> list[Any]:
    """Residents who may have a care task: any scheduling flag, or 80 and over."""
    return [
        or_(
            Resident.living_alone.is_(True),
            Resident.empty_nest.is_(True),
            *(getattr(Resident, flag).is_(True) for flag in OTHER_CARE_FLAGS),
            Resident.birth_date <= eighty_years_before(pull.clock.today),
        )
    ]


def _walk(
    cursor: Cursor,
    pull: Pull,
    page_of: Callable[[str, Any, int], tuple[list[dict[str, Any]], Any, bool]],
) -> tuple[Cursor, bool]:
    """Walk ENTITIES in order from the cursor's key; `page_of(entity, after_id, room)` gives
    (changes, last id, more left in this entity)."""
    start, after = cursor.key if cursor.key else (0, None)
    for index in range(start, len(ENTITIES)):
        after_id = after if index == start else None
        if pull.room <= 0:
            return cursor.but(key=[index, after_id]), False
        changes, last_id, more = page_of(ENTITIES[index], after_id, pull.room)
        pull.changes.extend(changes)
        if more:
            return cursor.but(key=[index, last_id]), False
    return cursor, True


# --- phase x: drop grids that left the scope ----------------------------------------------------


def _drop_phase(cursor: Cursor, pull: Pull) -> tuple[Cursor, bool]:
    grids = cursor.drop_grids

    def page_of(entity: str, after_id: Any, room: int):
        # Ids only, of rows outside the scope: the phone must forget them, and learns nothing
        # it did not have.
        if entity == "care_task":
            id_column, where = Resident.id, [Resident.grid_id.in_(grids)]
        elif entity == "notice":
            id_column = Notice.id
            where = [_notice_reach(pull, grids), Notice.status == NoticeStatus.PUBLISHED]
            if pull.held != EVERYTHING:
                where.append(~_notice_reach(pull, pull.held))
        else:
            source = SOURCES[entity]
            id_column, where = source.id_column, [source.grid_column.in_(grids)]
            if entity in RECORD_ENTITIES:
                where.append(source.model.received_at >= pull.clock.records_since)
        if after_id is not None:
            where.append(id_column > _key_value(entity, after_id))
        query = select(id_column).where(*where).order_by(id_column).limit(room + 1)
        ids = list(db.session.scalars(query))
        more = len(ids) > room
        ids = ids[:room]
        changes = [deleted(entity, _wire_id(entity, value)) for value in ids]
        return changes, _wire_id(entity, ids[-1]) if ids else after_id, more

    return _walk(cursor, pull, page_of)


# --- phase a: snapshot of grids that joined the scope -------------------------------------------


def _add_phase(cursor: Cursor, pull: Pull) -> tuple[Cursor, bool]:
    grids = _intersect(cursor.add_grids, pull.held)
    if grids != EVERYTHING and not grids:
        return cursor, True

    def page_of(entity: str, after_id: Any, room: int):
        if entity == "care_task":
            due = sorted(_due(pull, grids).items())
            if after_id is not None:
                due = [item for item in due if item[0] > after_id]
            batch = due[:room]
            changes = [care_task_data(check) for _, check in batch]
            return changes, batch[-1][0] if batch else after_id, len(due) > room
        source = SOURCES[entity]
        query = _live_rows(source, pull, grids).where(*source.live(pull.clock))
        if after_id is not None:
            query = query.where(source.id_column > source.key_value(after_id))
        rows = list(db.session.scalars(query.order_by(source.id_column).limit(room + 1)))
        batch = rows[:room]
        last_id = _wire_id(entity, batch[-1].id) if batch else after_id
        return source.serialize(batch, pull.clock), last_id, len(rows) > room

    return _walk(cursor, pull, page_of)


# --- phase n: notices coming due ----------------------------------------------------------------


def _notice_phase(cursor: Cursor, pull: Pull) -> tuple[Cursor, bool]:
    until, after = cursor.key
    source = SOURCES["notice"]
    query = _live_rows(source, pull, pull.held).where(
        Notice.status == NoticeStatus.PUBLISHED,
        Notice.publish_at <= datetime.fromisoformat(until),
    )
    if cursor.notices_at:
        query = query.where(Notice.publish_at > datetime.fromisoformat(cursor.notices_at))
    if after is not None:
        query = query.where(Notice.id > after)
    rows = list(db.session.scalars(query.order_by(Notice.id).limit(pull.room + 1)))
    batch = rows[: pull.room]
    pull.changes.extend(source.serialize(batch, pull.clock))
    if len(rows) > len(batch):
        return cursor.but(key=[until, batch[-1].id]), False
    return cursor.but(notices_at=until, key=None), True


# --- phase c: care task refresh -----------------------------------------------------------------


def _care_phase(cursor: Cursor, pull: Pull) -> tuple[Cursor, bool]:
    after = cursor.key[1] if cursor.key else None
    query = (
        scoped(Resident, scope=pull.scope)
        .with_only_columns(Resident.id)
        .where(*_care_candidates(pull))
        .order_by(Resident.id)
        .limit(pull.room + 1)
    )
    if after is not None:
        query = query.where(Resident.id > after)
    ids = list(db.session.scalars(query))
    batch = ids[: pull.room]
    due = _due(pull, pull.held) if batch else {}
    pull.changes.extend(
        care_task_data(due[rid]) if rid in due else deleted("care_task", rid) for rid in batch
    )
    if len(ids) > len(batch):
        return cursor.but(key=[ENTITY_INDEX["care_task"], batch[-1]]), False
    return cursor, True


# --- phase s: the change stream -----------------------------------------------------------------


@dataclass
class _Row:
    seq: int
    index: int
    id: Any
    row: Any
    source: Source | None  # None: a Tombstone


def _after_position(index: int, seq_column: Any, id_column: Any, cursor: Cursor, key_value) -> Any:
    """Rows after (cursor.seq, cursor.seq_key) in (change_seq, entity index, id) order."""
    if cursor.seq_key is None:
        return seq_column > cursor.seq
    key_index, key_id = cursor.seq_key
    if index < key_index:
        return seq_column > cursor.seq
    if index > key_index:
        return seq_column >= cursor.seq
    return or_(
        seq_column > cursor.seq,
        and_(seq_column == cursor.seq, id_column > key_value(key_id)),
    )


def _tombstone_scope(pull: Pull) -> Any:
    shared = Tombstone.user_id.is_(None)
    if pull.held != EVERYTHING:
        shared = and_(
            shared, or_(Tombstone.grid_id.is_(None), Tombstone.grid_id.in_(list(pull.held)))
        )
    return or_(Tombstone.user_id == pull.user.id, shared)


def _stream_phase(cursor: Cursor, pull: Pull) -> tuple[Cursor, bool]:
    upper = current_change_seq()
    if cursor.seq > upper:
        raise BadCursor("ahead of this database")  # restored from a backup, or another server
    if cursor.seq == upper and cursor.seq_key is None:
        return cursor, True
    room = pull.room
    fetched: list[_Row] = []
    more = False
    for source in SOURCES.values():
        model = source.model
        query = (
            _live_rows(source, pull, pull.held)
            .where(
                _after_position(
                    source.index, model.change_seq, source.id_column, cursor, source.key_value
                ),
                model.change_seq <= upper,
            )
            .order_by(model.change_seq, source.id_column)
            .limit(room + 1)
        )
        rows = list(db.session.scalars(query))
        more |= len(rows) > room
        fetched.extend(_Row(row.change_seq, source.index, row.id, row, source) for row in rows)
    tombstones = list(
        db.session.scalars(
            select(Tombstone)
            .where(
                _tombstone_scope(pull),
                _after_position(TOMBSTONE_INDEX, Tombstone.change_seq, Tombstone.id, cursor, int),
                Tombstone.change_seq <= upper,
            )
            .order_by(Tombstone.change_seq, Tombstone.id)
            .limit(room + 1)
        )
    )
    more |= len(tombstones) > room
    fetched.extend(_Row(t.change_seq, TOMBSTONE_INDEX, t.id, t, None) for t in tombstones)
    fetched.sort(key=lambda item: (item.seq, item.index, item.id))
    candidates = fetched[:room]
    more |= len(fetched) > room

    care_of = _care_residents(candidates)
    taken: list[tuple[_Row, list[int]]] = []
    seen: set[int] = set()
    used = 0
    for item in candidates:
        new_residents = [rid for rid in care_of.get(id(item), []) if rid not in seen]
        cost = (0 if _skipped_tombstone(item, pull) else 1) + len(new_residents)
        if used and used + cost > room:
            more = True
            break
        taken.append((item, new_residents))
        seen.update(new_residents)
        used += cost
    pull.changes.extend(_stream_changes(taken, pull))
    if not taken:
        return cursor.but(seq=upper, seq_key=None), True
    last = taken[-1][0]
    if more:
        key_id = str(last.id) if last.index < TOMBSTONE_INDEX else last.id
        return cursor.but(seq=last.seq, seq_key=[last.index, key_id]), False
    return cursor.but(seq=upper, seq_key=None), True


def _skipped_tombstone(item: _Row, pull: Pull) -> bool:
    # A grid tombstone for a grid the user holds again: the grid stays, and the rest of it is
    # re-sent by the add phase when the scope comparison sees it come back.
    tombstone = item.row
    return (
        item.source is None
        and tombstone.entity == "grid"
        and tombstone.entity_id.isdigit()
        and pull.scope.covers_grid(int(tombstone.entity_id))
    )


def _care_residents(items: list[_Row]) -> dict[int, list[int]]:
    """For each stream row that can change a care task, the residents whose task it changes."""
    care_of: dict[int, list[int]] = {}
    household_ids = [item.id for item in items if item.source and item.source.model is Household]
    members: dict[int, list[int]] = {}
    if household_ids:
        for resident_id, household_id in db.session.execute(
            select(Resident.id, Resident.household_id)
            .where(Resident.household_id.in_(household_ids))
            .order_by(Resident.id)
        ):
            members.setdefault(household_id, []).append(resident_id)
    for item in items:
        model = item.source.model if item.source else None
        if model is Resident:
            care_of[id(item)] = [item.id]
        elif model is ElderlyCheck:
            care_of[id(item)] = [item.row.resident_id]
        elif model is Household:
            care_of[id(item)] = members.get(item.id, [])
    return care_of


def _stream_changes(taken: list[tuple[_Row, list[int]]], pull: Pull) -> list[dict[str, Any]]:
    by_source: dict[str, list[Any]] = {}
    for item, _residents in taken:
        if item.source is not None:
            by_source.setdefault(item.source.entity, []).append(item.row)
    serialized: dict[tuple[str, Any], dict[str, Any]] = {}
    for entity, rows in by_source.items():
        source = SOURCES[entity]
        live = [row for row in rows if not _hidden(row, pull)]
        for row_change in source.serialize(live, pull.clock):
            serialized[(entity, row_change["id"])] = row_change
        for row in rows:
            if _hidden(row, pull):
                serialized[(entity, row.id)] = deleted(entity, row.id)

    care_grids = sorted({item.row.grid_id for item, residents in taken if residents})
    due = _due(pull, care_grids) if care_grids else {}

    changes: list[dict[str, Any]] = []
    for item, residents in taken:
        if item.source is None:
            if not _skipped_tombstone(item, pull):
                tombstone = item.row
                changes.append(
                    deleted(
                        tombstone.entity, entity_id_from_text(tombstone.entity, tombstone.entity_id)
                    )
                )
        else:
            entity = item.source.entity
            changes.append(serialized[(entity, _wire_id(entity, item.id))])
        changes.extend(
            care_task_data(due[rid]) if rid in due else deleted("care_task", rid)
            for rid in residents
        )
    return changes


def _hidden(row: Any, pull: Pull) -> bool:
    """A notice withdrawn, or scheduled for later, is not on any phone (until the `n` phase
    finds it come due)."""
    if not isinstance(row, Notice):
        return False
    if row.status != NoticeStatus.PUBLISHED:
        return True
    return row.publish_at is not None and row.publish_at > pull.clock.now


def _wire_id(entity: str, value: Any) -> Any:
    return str(value) if entity in UUID_ENTITIES else value


def _key_value(entity: str, text: Any) -> Any:
    if entity in SOURCES:
        return SOURCES[entity].key_value(text)
    return int(text)


PHASES: dict[str, Callable[[Cursor, Pull], tuple[Cursor, bool]]] = {
    "x": _drop_phase,
    "a": _add_phase,
    "s": _stream_phase,
    "n": _notice_phase,
    "c": _care_phase,
}
