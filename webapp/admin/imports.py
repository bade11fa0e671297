"""Importing a register from .xlsx (issue 12): the template, reading a hostile file safely, checking
every row, and writing all rows or none.

A community starts from its paper or Excel register. Each row is a resident (or, with no name, an
empty household) at an address: building name, unit, room. The checker reads the whole file into a
preview with every problem per row in Chinese; only a file without problems can be imported, in
one transaction. Rows already in the register (the same person in the same household) are
counted as unchanged, so importing the same file twice changes nothing the second time.

The resident rules are those of the field ops (webapp/rounds/registers.py), so a row the import
takes is a row the phone's form would have taken.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import select

from webapp.audit import record_audit
from webapp.auth.scope import Scope, compute_scope, scoped
from webapp.background import start_job
from webapp.changes import bump
from webapp.extensions import db
from webapp.i18n import local_today
from webapp.jsonsafe import first_unstorable
from webapp.models import (
    Building,
    Household,
    ImportStatus,
    Occupancy,
    RegisterImport,
    Resident,
    Role,
    User,
    utcnow,
)
from webapp.ops import Invalid
from webapp.rounds.registers import (
    NewResident,
    clean_phone,
    household_address,
    normalise_id_number,
    phone_problem,
    read_new_resident,
    resident_from,
)

IMPORT_ROLES = (Role.ADMIN, Role.COMMUNITY_STAFF)
SHEET = "居民登记"
MAX_ROWS = 20_000  # a community's register; a bigger file is split or refused, never half read
MAX_BYTES = 20 * 1024 * 1024
MAX_ERRORS_KEPT = 1000  # the preview lists this many; the count says how many there are
EARLIEST = date(1900, 1, 1)

# (field, header): the template's columns, in order. Headers are what the file must carry.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("building", "楼栋"),
    ("unit", "单元"),
    ("room", "房号"),
    ("contact_phone", "户联系电话"),
    ("occupancy", "居住状态"),
    ("name", "姓名"),
    ("id_number", "身份证号"),
    ("birth_date", "出生日期"),
    ("gender", "性别"),
    ("relation", "与户主关系"),
    ("phone", "电话"),
    ("flags", "关爱标记"),
    ("disability_grade", "残疾等级"),
    ("permit_number", "居住证号"),
    ("permit_expires_on", "居住证有效期"),
    ("origin_place", "户籍地"),
)
HEADER_OF = dict(COLUMNS)
DATE_FIELDS = ("birth_date", "permit_expires_on")

OCCUPANCY_WORDS = {
    "自住": Occupancy.OCCUPIED,
    "在住": Occupancy.OCCUPIED,
    "居住": Occupancy.OCCUPIED,
    "空置": Occupancy.VACANT,
    "出租": Occupancy.RENTED_OUT,
    "已出租": Occupancy.RENTED_OUT,
    **{o.value: o for o in Occupancy},
}
GENDER_WORDS = {"男": "M", "女": "F", "M": "M", "F": "F"}
FLAG_WORDS = {
    "独居": "living_alone",
    "空巢": "empty_nest",
    "残疾": "disabled",
    "低保": "low_income",
    "优抚": "special_care",
    "流动人口": "floating",
    "社区矫正": "community_correction",
    "党员": "party_member",
    "失联党员": "party_lost_contact",
    "退役军人": "veteran",
}
FLAG_SEPARATORS = re.compile(r"[,，、;；\s]+")
TEXT_DATE = re.compile(r"^(\d{1,4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


class FileProblem(ValueError):
    """The file as a whole cannot be read (not xlsx, wrong sheet, too many rows…)."""


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class Check:
    """What checking a file found: problems, and what importing it would write."""

    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    unmatched: dict[str, list[int]] = field(default_factory=dict)  # building name → rows
    unchanged: int = 0
    new_households: dict[tuple[int, int, str], dict[str, Any]] = field(default_factory=dict)
    new_residents: list[tuple[tuple[int, int, str], NewResident]] = field(default_factory=list)

    def fail(self, row: int, field_name: str, message: str) -> None:
        self.errors.append(RowError(row, HEADER_OF.get(field_name, field_name), message))


# --- the template -------------------------------------------------------------------------------


def template_workbook(scope: Scope) -> bytes:
    """The .xlsx a community fills: the register sheet with an example row, the buildings it may
    name, and how to fill each column."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    sheet.append([header for _field, header in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    buildings = db.session.scalars(scoped(Building, scope=scope).order_by(Building.id)).all()
    example = buildings[0].name if buildings else "幸福里3号楼"
    sheet.append(
        [
            example,
            1,
            "501",
            "13800000000",
            "自住",
            "张三",
            "",
            "1950-03-07",
            "男",
            "户主",
            "",
            "独居",
            "",
            "",
            "",
            "",
        ]
    )
    for column in ("G", "K", "D", "C"):  # numbers that must stay text (18 digits lose precision)
        for row in range(2, 2001):
            sheet[f"{column}{row}"].number_format = "@"
    for index, (_field, header) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = max(10, len(header) * 3)

    listing = workbook.create_sheet("楼栋")
    listing.append(["楼栋", "地址", "单元数"])
    for building in buildings:
        listing.append([building.name, building.address, building.unit_count])

    notes = workbook.create_sheet("填写说明")
    for line in (
        "每行一位居民；同一户（楼栋＋单元＋房号）的居民填在多行。只登记空户时姓名留空。",
        "楼栋：与「楼栋」表中的名称完全一致。单元：数字。房号：如 501。",
        "身份证号：18位，末位可为X；请设为文本格式，避免被 Excel 改成科学计数。",
        "没有身份证号（如新生儿）时填写出生日期，格式 1950-03-07。",
        "居住状态：自住、出租、空置。性别：男、女（有身份证号时可不填）。",
        "关爱标记：独居、空巢、残疾、低保、优抚、流动人口、社区矫正、党员、失联党员、退役军人，"
        "多个用顿号分隔。残疾等级：1–4。",
        "流动人口填写居住证号、居住证有效期、户籍地。",
        "请不要使用公式；上传后先预览，逐行核对无误后再导入。重复导入同一文件不会重复登记。",
    ):
        notes.append([line])
    notes.column_dimensions["A"].width = 100
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- reading -----------------------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, {field: raw value}) for each filled row. Raises FileProblem for the file."""
    try:
        workbook = load_workbook(path, read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError):
        raise FileProblem(
            _("This is not an .xlsx file. Download the template and fill it in.")
        ) from None
    except Exception:  # broken XML (lone surrogates, bad characters), odd parts: never a 500
        raise FileProblem(
            _("The file cannot be read. Save it again in Excel as .xlsx and retry.")
        ) from None
    try:
        if SHEET not in workbook.sheetnames:
            raise FileProblem(
                _("The file has no sheet named “%(sheet)s”. Use the template.", sheet=SHEET)
            )
        rows = workbook[SHEET].iter_rows(values_only=False)
        try:
            header = [_cell_text(cell.value) for cell in next(rows)]
        except StopIteration:
            raise FileProblem(_("The sheet is empty.")) from None
        expected = [h for _f, h in COLUMNS]
        if header[: len(expected)] != expected:
            raise FileProblem(
                _("The columns are not those of the template. Download the template again.")
            )
        count = 0
        for number, cells in enumerate(rows, start=2):
            values = [cell.value for cell in cells[: len(COLUMNS)]]
            if all(v in (None, "") for v in values):
                continue
            count += 1
            if count > MAX_ROWS:
                raise FileProblem(
                    _("The file has more than %(n)d rows. Split it into several files.", n=MAX_ROWS)
                )
            row: dict[str, Any] = {}
            for (name, _header), cell, value in zip(COLUMNS, cells, values, strict=False):
                if cell.data_type == "f" or (isinstance(value, str) and value.startswith("=")):
                    row[name] = FORMULA
                else:
                    row[name] = value
            yield number, row
    except FileProblem:
        raise
    except Exception:
        raise FileProblem(
            _("The file cannot be read. Save it again in Excel as .xlsx and retry.")
        ) from None
    finally:
        workbook.close()


FORMULA = object()  # a cell holding a formula: its value is not in the file for certain


def _date_value(value: Any) -> tuple[str, str | None]:
    """("YYYY-MM-DD", None) or ("", problem)."""
    if value in (None, ""):
        return "", None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        day = value
    else:
        text = _cell_text(value)
        match = TEXT_DATE.match(text)
        if text.isdigit() and len(text) == 8:
            match = re.match(r"^(\d{4})(\d{2})(\d{2})$", text)
        if not match:
            return "", _("Write the date as 1950-03-07.")
        try:
            day = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return "", _("This date does not exist.")
    if not EARLIEST <= day <= date(2100, 12, 31):
        return "", _("The date must lie between 1900 and 2100.")
    return day.isoformat(), None


def _integer(value: Any) -> int | None | str:
    """An integer, None when blank, or "" when not a whole number."""
    text = _cell_text(value)
    if not text:
        return None
    return int(text) if text.isdigit() and len(text) <= 6 else ""


# --- checking ----------------------------------------------------------------------------------


@dataclass
class Lookups:
    """Everything in the importer's scope the check compares with, loaded once."""

    buildings: dict[str, list[Building]]
    households: dict[tuple[int, int, str], Household]
    by_id_number: dict[str, Resident]
    by_name_birth: dict[tuple[str, date], list[Resident]]


def _lookups(scope: Scope) -> Lookups:
    buildings: dict[str, list[Building]] = {}
    for building in db.session.scalars(scoped(Building, scope=scope)):
        buildings.setdefault(building.name.strip(), []).append(building)
    households = {
        (h.building_id, h.unit, h.room): h
        for h in db.session.scalars(scoped(Household, scope=scope))
    }
    by_id: dict[str, Resident] = {}
    by_name_birth: dict[tuple[str, date], list[Resident]] = {}
    columns = scoped(Resident, scope=scope).with_only_columns(
        Resident.id, Resident.household_id, Resident.name, Resident.birth_date, Resident.id_number
    )
    for row in db.session.execute(columns):
        if row.id_number:
            by_id[row.id_number] = row
        by_name_birth.setdefault((row.name, row.birth_date), []).append(row)
    return Lookups(buildings, households, by_id, by_name_birth)


def check_file(path: Path, scope: Scope, progress: Callable[[int], None] | None = None) -> Check:
    """Read and check every row. Raises FileProblem for a file that cannot be read at all."""
    today = local_today()
    look = _lookups(scope)
    check = Check()
    seen_ids: dict[str, int] = {}
    seen_people: dict[tuple[Any, str, str], int] = {}
    for number, raw in read_rows(path):
        check.rows += 1
        if progress and check.rows % 500 == 0:
            progress(check.rows)
        _check_row(check, look, number, raw, today, seen_ids, seen_people)
    return check


def _check_row(
    check: Check,
    look: Lookups,
    number: int,
    raw: dict[str, Any],
    today: date,
    seen_ids: dict[str, int],
    seen_people: dict[tuple[Any, str, str], int],
) -> None:
    errors_before = len(check.errors)
    for name, value in raw.items():
        if value is FORMULA:
            check.fail(number, name, _("Formulas are not accepted: paste the values instead."))
        elif isinstance(value, str) and first_unstorable(value):
            check.fail(number, name, _("Holds a broken character; type this cell again."))
    if len(check.errors) > errors_before:
        return
    # The household: an address of a building in scope.
    building_name = _cell_text(raw.get("building"))
    unit = _integer(raw.get("unit"))
    room = _cell_text(raw.get("room"))
    building = None
    if not building_name:
        check.fail(number, "building", _("This field is required."))
    else:
        matches = look.buildings.get(building_name, [])
        if not matches:
            check.unmatched.setdefault(building_name, []).append(number)
            check.fail(number, "building", _("No building of this name in your area."))
        elif len(matches) > 1:
            check.fail(
                number, "building", _("Several buildings have this name; ask admin to rename one.")
            )
        else:
            building = matches[0]
    if unit == "" or (unit is not None and unit < 1):
        check.fail(number, "unit", _("Must be a whole number."))
        unit = None
    unit = unit or 1
    if building is not None and unit > max(building.unit_count, 1):
        check.fail(number, "unit", _("This building has units 1 to %(n)d.", n=building.unit_count))
    if not room:
        check.fail(number, "room", _("This field is required."))
    elif len(room) > 16:
        check.fail(number, "room", _("At most %(n)d characters.", n=16))
    contact_phone = clean_phone(_cell_text(raw.get("contact_phone")))
    if problem := phone_problem(contact_phone):
        check.fail(number, "contact_phone", problem)
    occupancy_text = _cell_text(raw.get("occupancy"))
    occupancy = OCCUPANCY_WORDS.get(occupancy_text or "自住")
    if occupancy is None:
        check.fail(number, "occupancy", _("Write 自住, 出租 or 空置."))

    # The resident, through the same rules as the phone's form.
    person = _cell_text(raw.get("name"))
    new = None
    if person:
        payload, problems = _resident_payload(raw)
        for name, message in problems.items():
            check.fail(number, name, message)
        try:
            new = read_new_resident(payload, today)
        except Invalid as error:
            for name, message in error.errors.items():
                check.fail(number, "flags" if name in FLAG_WORDS.values() else name, message)
    if len(check.errors) > errors_before or building is None:
        return

    key = (building.id, unit, room)
    existing_household = look.households.get(key)
    if existing_household is None and key not in check.new_households:
        check.new_households[key] = {
            "building": building,
            "contact_phone": contact_phone,
            "occupancy": occupancy,
        }
    if new is None:
        if existing_household is not None:
            check.unchanged += 1
        return
    # Duplicates: within the file, then against the register.
    if new.id_number:
        if new.id_number in seen_ids:
            check.fail(
                number,
                "id_number",
                _("The same ID number is on row %(row)d.", row=seen_ids[new.id_number]),
            )
            return
        seen_ids[new.id_number] = number
    person_key = (key, new.name, new.birth_date.isoformat())
    if person_key in seen_people:
        check.fail(
            number, "name", _("The same person is on row %(row)d.", row=seen_people[person_key])
        )
        return
    seen_people[person_key] = number
    same = look.by_id_number.get(new.id_number) if new.id_number else None
    candidates = (
        [same] if same is not None else look.by_name_birth.get((new.name, new.birth_date), [])
    )
    for resident in candidates:
        here = existing_household is not None and resident.household_id == existing_household.id
        if here and resident.name == new.name:
            check.unchanged += 1  # already registered here: importing the file again is a no-op
            return
        if same is not None:
            check.fail(
                number,
                "id_number",
                _("A resident with this ID number is registered at another address."),
            )
            return
        check.fail(
            number,
            "name",
            _("A resident with this name and birth date is registered at another address."),
        )
        return
    check.new_residents.append((key, new))


def _resident_payload(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    problems: dict[str, str] = {}
    payload: dict[str, Any] = {"name": _cell_text(raw.get("name"))}
    id_value = raw.get("id_number")
    if isinstance(id_value, int | float) and not isinstance(id_value, bool):
        # Excel kept it as a number: the last digits are already lost.
        problems["id_number"] = _(
            "The ID number was stored as a number; set the column to text and type it again."
        )
    else:
        payload["id_number"] = normalise_id_number(_cell_text(id_value))
    for name in DATE_FIELDS:
        text, problem = _date_value(raw.get(name))
        if problem:
            problems[name] = problem
        elif text:
            payload[name] = text
    gender = _cell_text(raw.get("gender"))
    if gender:
        if gender not in GENDER_WORDS:
            problems["gender"] = _("Write 男 or 女.")
        else:
            payload["gender"] = GENDER_WORDS[gender]
    for name in ("relation", "permit_number", "origin_place"):
        payload[name] = _cell_text(raw.get(name))
    payload["phone"] = _cell_text(raw.get("phone"))
    flags = []
    for word in FLAG_SEPARATORS.split(_cell_text(raw.get("flags"))):
        if not word:
            continue
        if word not in FLAG_WORDS:
            problems["flags"] = _("Unknown care flag; use the words listed in the template.")
        else:
            flags.append(FLAG_WORDS[word])
    payload["flags"] = flags
    grade = _integer(raw.get("disability_grade"))
    if grade == "":
        problems["disability_grade"] = _("A disability grade is 1 to 4.")
    elif grade is not None:
        payload["disability_grade"] = grade
    return payload, problems


# --- writing -----------------------------------------------------------------------------------


def write_check(check: Check) -> tuple[int, int]:
    """Write what a clean check found, in the caller's transaction. Returns (households,
    residents) created."""
    households: dict[tuple[int, int, str], Household] = {}
    for key, values in check.new_households.items():
        building: Building = values["building"]
        household = Household(
            building_id=building.id,
            grid_id=building.grid_id,
            unit=key[1],
            room=key[2],
            address=household_address(building, key[1], key[2]),
            contact_phone=values["contact_phone"],
            occupancy=values["occupancy"],
            notes="",
            version=1,
        )
        households[key] = household
    db.session.add_all(households.values())
    db.session.flush()
    existing: dict[tuple[int, int, str], Household] = {}
    if check.new_residents:
        building_ids = {key[0] for key, _new in check.new_residents}
        for household in db.session.scalars(
            select(Household).where(Household.building_id.in_(building_ids))
        ):
            existing[(household.building_id, household.unit, household.room)] = household
    residents = [resident_from(new, existing[key], None) for key, new in check.new_residents]
    db.session.add_all(residents)
    rows = [*households.values(), *residents]
    if rows:
        bump(*rows)  # one sequence number: the next pull of every phone in scope sends them
    db.session.flush()
    return len(households), len(residents)


# --- the job -------------------------------------------------------------------------------------


def import_dir(app: Flask | None = None) -> Path:
    app = app or current_app
    return Path(app.config.get("IMPORT_FOLDER") or Path(app.instance_path) / "imports")


def import_scope(user: User) -> Scope:
    return compute_scope(user, roles=IMPORT_ROLES)


def start_import(user: User, upload: bytes, original_name: str) -> RegisterImport:
    """Keep the upload and queue its check (the caller commits, then starts the thread)."""
    if len(upload) > MAX_BYTES:
        raise FileProblem(_("The file is larger than %(n)d MB.", n=MAX_BYTES // (1024 * 1024)))
    if not upload.startswith(b"PK"):
        raise FileProblem(_("This is not an .xlsx file. Download the template and fill it in."))
    job = RegisterImport(
        id=uuid.uuid4(),
        user_id=user.id,
        original_name=(original_name or "")[:200],
        file_name=f"{uuid.uuid4().hex}.xlsx",
        file_sha256=hashlib.sha256(upload).hexdigest(),
        status=ImportStatus.QUEUED,
        errors=[],
        unmatched=[],
    )
    folder = import_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / job.file_name).write_bytes(upload)
    db.session.add(job)
    record_audit(
        "register_import_uploaded",
        actor=user,
        target_type="register_import",
        target_id=job.id,
        file=job.original_name,
        sha256=job.file_sha256,
    )
    return job


def run_in_background(job_id: uuid.UUID, commit: bool = False) -> threading.Thread:
    return start_job(f"import-{job_id}", run_job, job_id, commit=commit)


def _finish_check(job: RegisterImport, check: Check) -> None:
    job.total_rows = check.rows
    job.error_count = len(check.errors)
    job.errors = [e.as_dict() for e in check.errors[:MAX_ERRORS_KEPT]]
    job.unmatched = sorted(check.unmatched)
    job.new_households = len(check.new_households)
    job.new_residents = len(check.new_residents)
    job.unchanged_rows = check.unchanged


def run_job(job_id: uuid.UUID, *, commit: bool = False) -> RegisterImport | None:
    """Check the file (commit=False) or check it again and write it (commit=True: the register
    may have changed since the preview). Nothing is written unless every row passes."""
    job = db.session.get(RegisterImport, job_id)
    wanted = ImportStatus.COMMITTING if commit else ImportStatus.QUEUED
    if job is None or job.status != wanted:
        return job
    if not commit:
        job.status = ImportStatus.CHECKING
    job.progress = 0
    db.session.commit()
    user = db.session.get(User, job.user_id)
    scope = import_scope(user)

    def progress(rows: int) -> None:
        if not commit:  # while writing, a commit here would commit half the rows
            job.progress = rows
            db.session.commit()

    try:
        check = check_file(import_dir() / job.file_name, scope, progress)
    except FileProblem as problem:
        db.session.rollback()
        job = db.session.get(RegisterImport, job_id)
        job.status, job.failure = ImportStatus.INVALID, str(problem)
        job.finished_at = utcnow()
        db.session.commit()
        return job
    except Exception:
        db.session.rollback()
        current_app.logger.exception("register import %s failed", job_id)
        return _failed(job_id)
    _finish_check(job, check)
    if check.errors:
        job.status = ImportStatus.INVALID
    elif not commit:
        job.status = ImportStatus.READY
    else:
        try:
            households, residents = write_check(check)
        except Exception:
            db.session.rollback()
            current_app.logger.exception("register import %s failed while writing", job_id)
            return _failed(job_id)
        job.new_households, job.new_residents = households, residents
        job.status = ImportStatus.DONE
        record_audit(
            "register_import_committed",
            actor=user,
            target_type="register_import",
            target_id=job.id,
            households=households,
            residents=residents,
            unchanged=check.unchanged,
        )
    job.progress = check.rows
    job.finished_at = utcnow()
    db.session.commit()  # the rows and the job's "done" together, or neither
    return job


def _failed(job_id: uuid.UUID) -> RegisterImport | None:
    job = db.session.get(RegisterImport, job_id)
    if job is not None:
        job.status = ImportStatus.FAILED
        job.failure = _("The server could not finish the import. Nothing was written.")
        job.finished_at = utcnow()
        db.session.commit()
    return job


def request_commit(user: User, job: RegisterImport) -> None:
    """Queue the write of a checked file (the caller commits and starts the thread)."""
    job.status = ImportStatus.COMMITTING
    job.finished_at = None
    record_audit(
        "register_import_requested", actor=user, target_type="register_import", target_id=job.id
    )
