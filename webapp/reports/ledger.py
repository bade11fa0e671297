"""台账: the monthly or quarterly ledger workbook of an area, from what workers already logged.

One summary sheet (the dashboard's figures, cell for cell), the evaluation, the 情况通报 (overdue
and supervised cases by community and department) and detail sheets: visits, disputes with their
mediation outcome, elderly checks, hazards, and cases with a timeline summary and time-limit
result. Chinese headers, widths, a frozen header row, times in Asia/Shanghai.

Personal data follows DESIGN.md §7 for the exporter: `LedgerPrivacy` says what they may see in
full; anything else is masked, and sensitive free text (notes on health, needs) is left out
unless names are shown in full (need to know).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import or_, select

from webapp.cases import limits
from webapp.extensions import db
from webapp.i18n import SHANGHAI
from webapp.labels import (
    CASE_ACTION_LABELS,
    CASE_CATEGORY_LABELS,
    CASE_LEVEL_LABELS,
    CASE_STATUS_LABELS,
    CHECK_METHOD_LABELS,
    CHECK_STATUS_LABELS,
    DISPUTE_CATEGORY_LABELS,
    HAZARD_CATEGORY_LABELS,
    NEED_LABELS,
    SATISFACTION_LABELS,
    SEVERITY_LABELS,
    VISIT_KIND_LABELS,
)
from webapp.masking import mask_name
from webapp.models import (
    Building,
    Case,
    Dispute,
    ElderlyCheck,
    Hazard,
    Household,
    Resident,
    User,
)
from webapp.models import Visit as VisitRecord
from webapp.public.figures import handling_deadline
from webapp.reports.dashboard import Dashboard, case_source
from webapp.reports.evaluation import (
    GRADE_LABELS,
    formula_text,
    grid_evaluations,
    worker_evaluations,
)

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDE7F3")
PERCENT = "0.0%"
TIMESTAMP = "yyyy-mm-dd hh:mm"
WRAP = Alignment(wrap_text=True, vertical="top")


@dataclass(frozen=True)
class LedgerPrivacy:
    full_names: bool = False
    full_phones: bool = False

    @property
    def masked(self) -> bool:
        return not (self.full_names or self.full_phones)


def _local(moment: datetime | None):
    """Excel has no time zones: write the Shanghai wall-clock time, without tzinfo."""
    return moment.astimezone(SHANGHAI).replace(tzinfo=None) if moment is not None else None


def _label(table: dict, code) -> str:
    return str(table.get(code, code or ""))


class _Sheet:
    """A sheet with a bold, frozen header row and set column widths."""

    def __init__(self, workbook: Workbook, title: str, columns: list[tuple[str, int]], first=False):
        self.ws = workbook.active if first else workbook.create_sheet()
        self.ws.title = title
        self.ws.append([name for name, _width in columns])
        for index, (_name, width) in enumerate(columns, start=1):
            self.ws.column_dimensions[get_column_letter(index)].width = width
            cell = self.ws.cell(row=1, column=index)
            cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        self.ws.freeze_panes = "A2"

    def append(self, values: Iterable, formats: dict[int, str] | None = None) -> None:
        self.ws.append(list(values))
        for column, number_format in (formats or {}).items():
            self.ws.cell(row=self.ws.max_row, column=column).number_format = number_format


SUMMARY_COLUMNS = [
    ("单位", 18),
    ("办结案件", 10),
    ("按期办结", 10),
    ("按期办结率", 12),
    ("办结用时中位数(工作日)", 14),
    ("平均办结用时(工作日)", 14),
    ("回访次数", 10),
    ("回访满意率", 12),
    ("应探访老人", 12),
    ("探访逾期", 10),
    ("探访按时率", 12),
    ("在住户数", 10),
    ("本季已走访户数", 12),
    ("走访覆盖率", 12),
    ("在办隐患", 10),
    ("超期案件", 10),
    ("督办案件", 10),
    ("就地化解率", 12),
]
SUMMARY_PERCENT_COLUMNS = (4, 8, 11, 14, 18)


def summary_values(unit) -> list:
    """One summary row; the dashboard's table shows the same values (tested cell by cell)."""
    o = unit.outcomes
    return [
        unit.name,
        o.closed,
        o.on_time,
        o.on_time_rate,
        o.median_workdays,
        round(o.average_workdays, 2) if o.average_workdays is not None else None,
        o.rated,
        o.satisfied_rate,
        unit.care_scheduled,
        unit.care_overdue,
        unit.care_rate,
        unit.households,
        unit.visited,
        unit.coverage_rate,
        unit.open_hazards,
        unit.overdue_cases,
        unit.supervised,
        unit.local_rate,
    ]


def build_ledger(
    board: Dashboard,
    privacy: LedgerPrivacy,
    out: Path,
    progress: Callable[[int], None] = lambda _percent: None,
) -> Path:
    workbook = Workbook()
    _summary(workbook, board, privacy)
    progress(10)
    _evaluation(workbook, board)
    _situation(workbook, board)
    progress(20)
    authors = dict(db.session.execute(select(User.id, User.display_name)).all())
    steps = (_visits, _disputes, _checks, _hazards, _cases, _register_changes)
    for index, step in enumerate(steps, start=1):
        step(workbook, board, privacy, authors)
        progress(20 + 70 * index // len(steps))
    out.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(out)
    progress(100)
    return out


def _summary(workbook: Workbook, board: Dashboard, privacy: LedgerPrivacy) -> None:
    sheet = _Sheet(workbook, "汇总", SUMMARY_COLUMNS, first=True)
    formats = {column: PERCENT for column in SUMMARY_PERCENT_COLUMNS}
    for unit in [*board.rows, board.total]:
        sheet.append(summary_values(unit), formats)
    ws = sheet.ws
    ws.append([])
    notes = [
        ("区域", board.area.name),
        ("期间", f"{board.period.first_day:%Y-%m-%d} 至 {board.period.last_day:%Y-%m-%d}"),
        ("生成时间", _local(board.now)),
        ("个人信息", "已脱敏" if privacy.masked else "未脱敏（本次导出已记入审计日志）"),
        ("按期办结率", "期间内回访结案的案件中，最后一次办结不晚于当时有效办理时限的比例"),
        ("办结用时", "从立案当日到办结当日的工作日数（国家法定节假日与调休）"),
        ("回访满意率", "期间内回访中“满意”“基本满意”的比例"),
        (
            "探访按时率",
            f"期末（{board.period.as_of(board.now):%Y-%m-%d}）关爱对象中探访未逾期的比例",
        ),
        ("走访覆盖率", f"本季度（{board.coverage_since:%Y-%m-%d} 起）至少走访一次的在住户比例"),
        ("就地化解率", "期间内办结的案件中，在网格层级办结的比例"),
    ]
    for name, value in notes:
        ws.append([name, value])
        if isinstance(value, datetime):
            ws.cell(row=ws.max_row, column=2).number_format = TIMESTAMP


def _evaluation(workbook: Workbook, board: Dashboard) -> None:
    sheet = _Sheet(
        workbook,
        "考评",
        [
            ("类型", 8),
            ("对象", 16),
            ("网格/社区", 24),
            ("按期办结率", 12),
            ("回访满意率", 12),
            ("探访按时率", 12),
            ("就地化解率", 12),
            ("得分", 8),
            ("等级", 8),
        ],
    )
    formats = {4: PERCENT, 5: PERCENT, 6: PERCENT, 7: PERCENT}
    for kind, rows in (("网格", grid_evaluations(board)), ("网格员", worker_evaluations(board))):
        for row in rows:
            sheet.append(
                [
                    kind,
                    row.name,
                    row.detail,
                    row.rates["on_time"],
                    row.rates["satisfaction"],
                    row.rates["care"],
                    row.rates["local"],
                    row.score,
                    str(GRADE_LABELS[row.grade]) if row.grade else "—",
                ],
                formats,
            )
    sheet.ws.append([])
    sheet.ws.append(["计分公式", formula_text()])


def _situation(workbook: Workbook, board: Dashboard) -> None:
    """情况通报: what is late and what is under 督办, by community and department."""
    sheet = _Sheet(
        workbook,
        "情况通报",
        [
            ("类别", 10),
            ("社区", 14),
            ("承办部门", 14),
            ("网格", 12),
            ("案件编号", 18),
            ("标题", 30),
            ("状态", 16),
            ("时限/督办期限", 18),
            ("超期天数", 10),
            ("督办结果", 12),
        ],
    )
    outcomes = {
        "on_time": "按期办结",
        "late": "逾期办结",
        "overdue": "逾期未办结",
        "in_progress": "办理中",
    }
    rows = []
    for late in board.late_cases:
        case = late.case
        rows.append(
            [
                "超期",
                late.community_name,
                case.assigned_department or "—",
                late.grid_name,
                case.number,
                case.title,
                _label(CASE_STATUS_LABELS, case.status),
                _local(limits.effective(case.due_at, case, board.now)),
                late.days_over,
                "",
            ]
        )
    for supervised in board.supervised_cases:
        case = supervised.case
        rows.append(
            [
                "督办",
                supervised.community_name,
                case.assigned_department or "—",
                supervised.grid_name,
                case.number,
                case.title,
                _label(CASE_STATUS_LABELS, case.status),
                _local(case.supervise_deadline),
                None,
                outcomes[supervised.outcome],
            ]
        )
    rows.sort(key=lambda row: (row[0], row[1], row[2]))
    for row in rows:
        sheet.append(row, {8: TIMESTAMP})
    if board.departments:
        ws = sheet.ws
        ws.append([])
        ws.append(
            [
                "部门",
                "派单数",
                "签收",
                "按时签收",
                "回单",
                "按时回单",
                "回单及时率",
                "退回",
                "在办",
                "当前超期",
            ]
        )
        for cell in ws[ws.max_row]:
            cell.font = HEADER_FONT
        for d in board.departments:
            sheet.append(
                [
                    d.name,
                    d.assigned,
                    d.signed,
                    d.signed_on_time,
                    d.reported,
                    d.reported_on_time,
                    d.on_time_rate,
                    d.returned,
                    d.open_now,
                    d.overdue_now,
                ],
                {7: PERCENT},
            )


def _register_changes(workbook, board: Dashboard, privacy: LedgerPrivacy, authors) -> None:
    """人口变动: who moved in, moved out or died in the period (issue 12), from the register
    changes workers recorded in the field; nobody types this ledger."""
    sheet = _Sheet(
        workbook,
        "人口变动",
        [("日期", 12), ("变动", 10), ("网格", 12), ("地址", 30), ("姓名", 10), ("备注", 30)],
    )
    start = board.period.start.astimezone(SHANGHAI).date()
    # The last day the period covers so far (its end is exclusive; a running period ends now).
    last = (board.period.clipped_end(board.now) - timedelta(microseconds=1)).astimezone(SHANGHAI)
    end = last.date()
    rows = db.session.execute(
        select(Resident, Household.address)
        .join(Household, Household.id == Resident.household_id)
        .where(
            Resident.grid_id.in_(board.area.grid_ids),
            or_(
                (Resident.left_on >= start) & (Resident.left_on <= end),
                (Resident.moved_in_on >= start) & (Resident.moved_in_on <= end),
            ),
        )
        .order_by(Resident.id)
    ).all()
    entries = []
    for resident, address in rows:
        if resident.moved_in_on is not None and start <= resident.moved_in_on <= end:
            entries.append((resident.moved_in_on, "迁入", resident, address, ""))
        if resident.left_on is not None and start <= resident.left_on <= end:
            change = "死亡" if resident.status == "deceased" else "迁出"
            notes = resident.left_notes if privacy.full_names else ""
            entries.append((resident.left_on, change, resident, address, notes))
    for day, change, resident, address, notes in sorted(entries, key=lambda e: (e[0], e[2].id)):
        sheet.append(
            [
                day,
                change,
                board.grid_names[resident.grid_id][0],
                address,
                _name(resident.name, privacy),
                notes,
            ],
            {1: "yyyy-mm-dd"},
        )


def _name(name: str, privacy: LedgerPrivacy) -> str:
    return name if privacy.full_names else mask_name(name)


def _in_period(column, board: Dashboard):
    return (column >= board.period.start, column < board.period.clipped_end(board.now))


def _visits(workbook, board: Dashboard, privacy: LedgerPrivacy, authors) -> None:
    sheet = _Sheet(
        workbook,
        "入户走访",
        [
            ("走访时间", 17),
            ("网格", 12),
            ("地址", 30),
            ("走访类型", 10),
            ("在场居民", 16),
            ("发现需求", 16),
            ("走访情况", 30),
            ("网格员", 10),
        ],
    )
    rows = db.session.execute(
        select(VisitRecord, Household.address)
        .join(Household, Household.id == VisitRecord.household_id)
        .where(
            VisitRecord.grid_id.in_(board.area.grid_ids), *_in_period(VisitRecord.visited_at, board)
        )
        .order_by(VisitRecord.visited_at)
    ).all()
    resident_ids = {rid for visit, _a in rows for rid in (visit.present_resident_ids or [])}
    names = _resident_names(resident_ids)
    for visit, address in rows:
        present = "、".join(
            _name(names[rid], privacy) for rid in visit.present_resident_ids or [] if rid in names
        )
        sheet.append(
            [
                _local(visit.visited_at),
                board.grid_names[visit.grid_id][0],
                address,
                _label(VISIT_KIND_LABELS, visit.visit_kind),
                present,
                "、".join(_label(NEED_LABELS, need) for need in visit.needs or []),
                visit.notes if privacy.full_names else "",
                authors.get(visit.author_id, ""),
            ],
            {1: TIMESTAMP},
        )


def _resident_names(ids: Iterable[int]) -> dict[int, str]:
    ids = [rid for rid in ids if isinstance(rid, int)]
    if not ids:
        return {}
    return dict(
        db.session.execute(select(Resident.id, Resident.name).where(Resident.id.in_(ids))).all()
    )


def _cases_by_source(record_ids: list) -> dict:
    if not record_ids:
        return {}
    cases = db.session.scalars(select(Case).where(Case.source_record_id.in_(record_ids)))
    return {case.source_record_id: case for case in cases}


def _disputes(workbook, board: Dashboard, privacy: LedgerPrivacy, authors) -> None:
    sheet = _Sheet(
        workbook,
        "矛盾纠纷",
        [
            ("登记时间", 17),
            ("网格", 12),
            ("地点", 24),
            ("类别", 12),
            ("严重程度", 10),
            ("当事人", 18),
            ("纠纷概要", 30),
            ("调处结果", 24),
            ("调处情况", 30),
            ("网格员", 10),
        ],
    )
    disputes = db.session.scalars(
        select(Dispute)
        .where(Dispute.grid_id.in_(board.area.grid_ids), *_in_period(Dispute.received_at, board))
        .order_by(Dispute.received_at)
    ).all()
    cases = _cases_by_source([d.id for d in disputes])
    addresses = _household_addresses({d.household_id for d in disputes if d.household_id})
    for dispute in disputes:
        case = cases.get(dispute.id)
        if dispute.resolved_on_site:
            outcome = "当场调解成功"
        elif case is not None:
            outcome = f"转立案 {case.number}：{_label(CASE_STATUS_LABELS, case.status)}"
        else:
            outcome = "未化解"
        parties = "、".join(
            _name(str(party.get("name", "")), privacy)
            for party in dispute.parties or []
            if isinstance(party, dict)
        )
        sheet.append(
            [
                _local(dispute.client_time or dispute.received_at),
                board.grid_names[dispute.grid_id][0],
                dispute.place or addresses.get(dispute.household_id, ""),
                _label(DISPUTE_CATEGORY_LABELS, dispute.category),
                _label(SEVERITY_LABELS, dispute.severity),
                parties,
                dispute.summary if privacy.full_names else "",
                outcome,
                dispute.mediation_notes if privacy.full_names else "",
                authors.get(dispute.author_id, ""),
            ],
            {1: TIMESTAMP},
        )


def _household_addresses(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        db.session.execute(
            select(Household.id, Household.address).where(Household.id.in_(ids))
        ).all()
    )


def _checks(workbook, board: Dashboard, privacy: LedgerPrivacy, authors) -> None:
    sheet = _Sheet(
        workbook,
        "老人探访",
        [
            ("探访时间", 17),
            ("网格", 12),
            ("老人", 10),
            ("地址", 30),
            ("方式", 10),
            ("情况", 10),
            ("健康与生活情况", 30),
            ("网格员", 10),
        ],
    )
    rows = db.session.execute(
        select(ElderlyCheck, Resident.name, Household.address)
        .join(Resident, Resident.id == ElderlyCheck.resident_id)
        .join(Household, Household.id == Resident.household_id)
        .where(
            ElderlyCheck.grid_id.in_(board.area.grid_ids),
            *_in_period(ElderlyCheck.checked_at, board),
        )
        .order_by(ElderlyCheck.checked_at)
    ).all()
    for check, name, address in rows:
        notes = "；".join(text for text in (check.health_notes, check.living_notes) if text)
        sheet.append(
            [
                _local(check.checked_at),
                board.grid_names[check.grid_id][0],
                _name(name, privacy),
                address,
                _label(CHECK_METHOD_LABELS, check.method),
                _label(CHECK_STATUS_LABELS, check.status),
                notes if privacy.full_names else "",
                authors.get(check.author_id, ""),
            ],
            {1: TIMESTAMP},
        )


def _hazards(workbook, board: Dashboard, privacy: LedgerPrivacy, authors) -> None:
    sheet = _Sheet(
        workbook,
        "安全隐患",
        [
            ("发现时间", 17),
            ("网格", 12),
            ("楼栋/地点", 24),
            ("类别", 10),
            ("严重程度", 10),
            ("隐患描述", 30),
            ("整改情况", 24),
            ("网格员", 10),
        ],
    )
    rows = db.session.execute(
        select(Hazard, Building.name)
        .outerjoin(Building, Building.id == Hazard.building_id)
        .where(Hazard.grid_id.in_(board.area.grid_ids), *_in_period(Hazard.received_at, board))
        .order_by(Hazard.received_at)
    ).all()
    cases = _cases_by_source([hazard.id for hazard, _name in rows])
    for hazard, building in rows:
        case = cases.get(hazard.id)
        if hazard.fixed_on_site:
            outcome = "当场整改"
        elif case is not None:
            outcome = f"转立案 {case.number}：{_label(CASE_STATUS_LABELS, case.status)}"
        else:
            outcome = "未整改"
        sheet.append(
            [
                _local(hazard.client_time or hazard.received_at),
                board.grid_names[hazard.grid_id][0],
                building or hazard.place,
                _label(HAZARD_CATEGORY_LABELS, hazard.category),
                _label(SEVERITY_LABELS, hazard.severity),
                hazard.description,
                outcome,
                authors.get(hazard.author_id, ""),
            ],
            {1: TIMESTAMP},
        )


SOURCE_LABELS = {
    "visit": "入户走访",
    "dispute": "矛盾纠纷",
    "elderly_check": "老人探访",
    "hazard": "安全隐患",
    "report": "居民反映",
    "public": "居民随手拍",
    "phone": "来电",
    "hotline_12345": "12345热线",
    "petition": "信访",
    "open311": "Open311",
}


def time_limit_result(case: Case, events, configured, now: datetime) -> str:
    replay = handling_deadline(case, events, configured)
    if replay is not None:
        resolved_at, deadline = replay
        return "按期办结" if resolved_at <= deadline else "超期办结"
    if limits.sla_state(case, now) == limits.SlaState.RED:
        return "已超期，未办结"
    return "办理中"


def timeline_summary(events) -> str:
    """ "11-02 立案 → 11-03 受理 → …": the path a case took, one line a reader scans."""
    steps = []
    for event in events:
        if event.action == "note":
            continue
        label = str(CASE_ACTION_LABELS.get(event.action, event.action))
        if event.action == "follow_up" and (event.data or {}).get("satisfaction"):
            label += f"（{SATISFACTION_LABELS.get(event.data['satisfaction'], '')}）"
        steps.append(f"{event.at.astimezone(SHANGHAI):%m-%d} {label}")
    return " → ".join(steps)


def _cases(workbook, board: Dashboard, privacy: LedgerPrivacy, authors) -> None:
    sheet = _Sheet(
        workbook,
        "案件",
        [
            ("案件编号", 18),
            ("标题", 28),
            ("网格", 12),
            ("社区", 12),
            ("来源", 10),
            ("类别", 12),
            ("严重程度", 8),
            ("立案时间", 17),
            ("当前层级", 10),
            ("状态", 16),
            ("承办部门", 12),
            ("办结时间", 17),
            ("时限结果", 14),
            ("回访满意度", 10),
            ("督办", 8),
            ("流转摘要", 60),
        ],
    )
    start, until = board.period.start, board.period.clipped_end(board.now)
    rows = db.session.execute(
        select(Case, case_source())
        .where(
            Case.home_grid_id.in_(board.area.grid_ids),
            or_(
                Case.opened_at.between(start, until),
                Case.resolved_at.between(start, until),
                Case.closed_at.between(start, until),
            ),
        )
        .order_by(Case.opened_at)
    ).all()
    configured = limits.configured_limits()
    for case, source in rows:
        events = sorted(case.events, key=lambda event: (event.at, event.id))
        grid_name, community_name = board.grid_names[case.home_grid_id]
        sheet.append(
            [
                case.number,
                case.title,
                grid_name,
                community_name,
                SOURCE_LABELS.get(source, source),
                _label(CASE_CATEGORY_LABELS, case.category),
                _label(SEVERITY_LABELS, case.severity),
                _local(case.opened_at),
                _label(CASE_LEVEL_LABELS, case.level),
                _label(CASE_STATUS_LABELS, case.status),
                case.assigned_department or "",
                _local(case.resolved_at),
                time_limit_result(case, events, configured, board.now),
                _label(SATISFACTION_LABELS, case.satisfaction),
                "是" if case.supervised else "",
                timeline_summary(events),
            ],
            {8: TIMESTAMP, 12: TIMESTAMP},
        )
    for row in sheet.ws.iter_rows(min_row=2, min_col=16, max_col=16):
        row[0].alignment = WRAP
