"""Importing a register from .xlsx (issue 12): the template round trip, every row checked with a
Chinese message, all or nothing, a re-import changes nothing, hostile files refused cleanly.
Every file here is a real workbook written by openpyxl and uploaded through the page."""

from __future__ import annotations

import io
import re
import time
import uuid
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook

from tests import factories as f
from tests.integration.sync_api import login, make_world
from webapp.admin import imports
from webapp.extensions import db
from webapp.models import AuditLog, Household, RegisterImport, Resident
from webapp.notices.guard import id_check_char

HEADERS = [header for _field, header in imports.COLUMNS]


def valid_id(body17: str) -> str:
    return body17 + id_check_char(body17)


@pytest.fixture
def world(app):
    return make_world()


@pytest.fixture
def staff(client, world):
    login(client, "staff_c1")
    return client


def building_name(world, grid: str) -> str:
    return world.households[grid][0].building.name


def g1(world) -> str:
    return building_name(world, "G1")


def row(building: str, room: str, name: str = "", **cells) -> list:
    values = {"building": building, "unit": 1, "room": room, "name": name, **cells}
    return [values.get(field, None) for field, _header in imports.COLUMNS]


def workbook_bytes(rows: list[list], sheet: str = imports.SHEET, headers=HEADERS) -> bytes:
    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    worksheet.append(headers)
    for values in rows:
        worksheet.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csrf(client) -> str:
    html = client.get("/admin/imports").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def upload(client, data: bytes, name: str = "登记.xlsx"):
    return client.post(
        "/admin/imports",
        data={"csrf_token": csrf(client), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def finished(job_id, wait: float = 60) -> RegisterImport:
    """The job once its background thread is done with it."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        db.session.expire_all()
        job = db.session.get(RegisterImport, job_id)
        if job.status not in ("queued", "checking", "committing"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"import {job_id} still {job.status}")


def uploaded(client, data: bytes) -> RegisterImport:
    response = upload(client, data)
    assert response.status_code == 303, response.get_data(as_text=True)
    return finished(uuid.UUID(response.headers["Location"].rsplit("/", 1)[-1]))


def commit(client, job: RegisterImport) -> RegisterImport:
    response = client.post(f"/admin/imports/{job.id}/commit", data={"csrf_token": csrf(client)})
    assert response.status_code == 303
    return finished(job.id)


def residents_named(name: str) -> int:
    return db.session.query(Resident).filter_by(name=name).count()


def test_the_template_round_trips_into_new_households_and_residents(staff, world):
    template = staff.get("/admin/imports/template.xlsx")
    assert template.status_code == 200
    workbook = load_workbook(io.BytesIO(template.data))
    assert workbook.sheetnames[0] == imports.SHEET
    assert g1(world) in [c.value for c in workbook["楼栋"]["A"]]
    assert building_name(world, "G3") not in [c.value for c in workbook["楼栋"]["A"]]  # C2's
    sheet = workbook[imports.SHEET]
    sheet.delete_rows(2)  # the example row
    sheet.append(row(g1(world), "1101", "钱多多", id_number=valid_id("11010119560708001")))
    sheet.append(row(g1(world), "1101", "钱小多", birth_date=date(2020, 1, 2), gender="女"))
    sheet.append(
        row(building_name(world, "G2"), "1102", contact_phone="13800001111", occupancy="空置")
    )
    buffer = io.BytesIO()
    workbook.save(buffer)

    job = uploaded(staff, buffer.getvalue())
    assert (job.status, job.new_households, job.new_residents) == ("ready", 2, 2)
    assert residents_named("钱多多") == 0  # the preview writes nothing
    job = commit(staff, job)

    assert job.status == "done"
    resident = db.session.query(Resident).filter_by(name="钱多多").one()
    assert (resident.birth_date, resident.gender) == (date(1956, 7, 8), "M")
    assert resident.household.address.endswith("1单元1101")
    empty = db.session.query(Household).filter_by(room="1102").one()
    assert (empty.grid_id, empty.occupancy) == (world.grids["G2"].id, "vacant")
    assert db.session.query(AuditLog).filter_by(action="register_import_committed").count() == 1


def test_re_importing_the_same_file_changes_nothing(staff, world):
    data = workbook_bytes([row(g1(world), "1201", "孙一", id_number=valid_id("11010119700101003"))])
    commit(staff, uploaded(staff, data))

    again = uploaded(staff, data)

    assert (again.status, again.new_households, again.new_residents) == ("ready", 0, 0)
    assert again.unchanged_rows == 1
    commit(staff, again)
    assert residents_named("孙一") == 1
    assert db.session.query(Household).filter_by(room="1201").count() == 1


def test_one_bad_row_imports_nothing_and_the_preview_names_it(staff, world):
    good = row(g1(world), "1301", "周好", birth_date="1980-01-01")
    bad_check = row(g1(world), "1302", "周坏", id_number=valid_id("11010119800101005")[:17] + "9")
    disagree = row(
        g1(world),
        "1303",
        "周错",
        id_number=valid_id("11010119800101007"),
        birth_date="1981-01-01",
    )
    bad_phone = row(g1(world), "1304", "周电", birth_date="1980-01-01", phone="12345")
    if valid_id("11010119800101005").endswith("9"):
        pytest.skip("the altered check digit happens to be right")

    job = uploaded(staff, workbook_bytes([good, bad_check, disagree, bad_phone]))

    assert job.status == "invalid" and job.error_count == 3
    assert {(e["row"], e["column"]) for e in job.errors} == {
        (3, "身份证号"),
        (4, "出生日期"),
        (5, "电话"),
    }
    html = staff.get(f"/admin/imports/{job.id}").get_data(as_text=True)
    assert "校验位不对" in html and "出生日期与身份证号不一致" in html
    assert "导入" in html and "/commit" not in html
    assert residents_named("周好") == 0


def test_unmatched_buildings_are_listed(staff, world):
    job = uploaded(
        staff, workbook_bytes([row("不存在的楼", "101", "吴某", birth_date="1990-01-01")])
    )

    assert job.status == "invalid" and job.unmatched == ["不存在的楼"]


def test_a_building_outside_the_community_does_not_match(staff, world):
    job = uploaded(
        staff,
        workbook_bytes([row(building_name(world, "G3"), "101", "吴某", birth_date="1990-01-01")]),
    )

    assert job.unmatched == [building_name(world, "G3")]


def test_duplicates_within_the_file_and_against_the_register_are_flagged(staff, world):
    number = valid_id("11010119650303004")
    existing = world.residents["G1"][0]
    job = uploaded(
        staff,
        workbook_bytes(
            [
                row(g1(world), "1401", "郑甲", id_number=number),
                row(g1(world), "1402", "郑乙", id_number=number),
                row(
                    building_name(world, "G2"),
                    "1403",
                    existing.name,
                    birth_date=existing.birth_date,
                ),
            ]
        ),
    )

    messages = {(e["row"], e["column"]): e["message"] for e in job.errors}
    assert "第 2 行" in messages[(3, "身份证号")] or "2" in messages[(3, "身份证号")]
    assert (4, "姓名") in messages


def test_formulas_text_dates_and_impossible_years(staff, world):
    name = g1(world)
    job = uploaded(
        staff,
        workbook_bytes(
            [
                row(name, "1501", "冯公式", birth_date="=DATE(1950,1,1)"),
                row(name, "1502", "冯文本", birth_date="1950/3/7"),
                row(name, "1503", "冯一年", birth_date="0001-01-01"),
                row(name, "1504", "冯万年", birth_date="9999-12-31"),
                row(name, "1505", "冯日期", birth_date=datetime(1960, 2, 29)),
            ]
        ),
    )

    columns = {e["row"]: e["message"] for e in job.errors}
    assert set(columns) == {2, 4, 5}
    assert "公式" in columns[2]
    assert job.new_residents == 2  # the text date and the real date were read


def test_a_wrong_sheet_is_refused_with_a_clear_message(staff, world):
    job = uploaded(staff, workbook_bytes([row("x", "1", "y")], sheet="Sheet1"))

    assert job.status == "invalid"
    assert "居民登记" in job.failure


def test_not_an_xlsx_is_refused_at_upload(staff, world):
    response = upload(staff, "name,id\n张三,1\n".encode(), "register.csv")

    assert response.status_code == 422
    assert "不是 .xlsx 文件" in response.get_data(as_text=True)


def test_a_lone_surrogate_in_the_file_is_a_clear_error(staff, world):
    data = workbook_bytes([row(g1(world), "1601", "PLACEHOLDER", birth_date="1990-01-01")])
    source = zipfile.ZipFile(io.BytesIO(data))
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w") as out:
        for item in source.infolist():
            content = source.read(item.filename)
            out.writestr(item, content.replace(b"PLACEHOLDER", b"&#xDC80;"))

    job = uploaded(staff, target.getvalue())

    assert job.status == "invalid"
    assert job.failure or job.error_count
    assert db.session.query(Resident).filter_by(household_id=None).count() == 0


def million_row_workbook(building: str) -> bytes:
    """A real workbook saved by openpyxl whose sheet is then grown to a million rows, written as
    the XML stream Excel writes (openpyxl itself takes minutes to write that many)."""
    data = workbook_bytes([row(building, "1", "一")])
    source = zipfile.ZipFile(io.BytesIO(data))
    sheet_path = "xl/worksheets/sheet1.xml"
    xml = source.read(sheet_path).decode()
    rows = "".join(
        f'<row r="{n}"><c r="C{n}" t="n"><v>{n}</v></c></row>' for n in range(3, 1_000_003)
    )
    xml = xml.replace("</sheetData>", rows + "</sheetData>")
    xml = re.sub(r'<dimension ref="[^"]+"\s*/>', '<dimension ref="A1:P1000002"/>', xml)
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            content = xml.encode() if item.filename == sheet_path else source.read(item.filename)
            out.writestr(item.filename, content)
    return target.getvalue()


def test_a_million_rows_are_refused_by_the_row_cap(staff, world):
    data = million_row_workbook(g1(world))
    assert load_workbook(io.BytesIO(data), read_only=True)[imports.SHEET].max_row == 1_000_002

    job = uploaded(staff, data)

    assert job.status == "invalid"
    assert "20000" in job.failure
    assert db.session.query(Household).count() == 9  # the world's, nothing added


def test_a_grid_worker_cannot_import(client, world):
    login(client, "worker_g1")

    assert client.get("/admin/imports").status_code == 403


def test_another_users_import_is_not_found(staff, world, app):
    job = uploaded(staff, workbook_bytes([row(g1(world), "1701", "陈某", birth_date="1990-01-01")]))
    other = app.test_client()
    f.gen_user("admin2", "admin")
    db.session.commit()
    login(other, "admin2")

    assert other.get(f"/admin/imports/{job.id}").status_code == 404
