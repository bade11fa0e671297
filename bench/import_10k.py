#!/usr/bin/env python3
"""Register import of 10,000 rows (issue 12): how long the check (preview) and the all-or-nothing
write take, and that importing the same file again writes nothing.

    .venv/bin/python bench/import_10k.py                   # fresh SQLite database in a temp dir
    DATABASE_URL=postgresql://…/yourdb .venv/bin/python bench/import_10k.py   # an EMPTY PG db

The world is one street, one community, four grids of 25 buildings with 4 units each; the file
has 4,000 households of 2 or 3 residents with valid ID numbers, phones, care flags and a few
floating residents, written by openpyxl like a community's filled-in template. The job runs as
the page runs it (webapp/admin/imports.py `run_job`), without the thread, so the times are the
job's own.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SECRET_KEY", "bench-secret-key")

from openpyxl import Workbook  # noqa: E402

from webapp import create_app  # noqa: E402
from webapp.admin import imports  # noqa: E402
from webapp.auth.services import create_user, grant  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import Base, Building, Community, Grid, RegisterImport, Resident, Street  # noqa: E402
from webapp.notices.guard import id_check_char  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"


def build_world() -> tuple[int, list[str]]:
    street = Street(code="S-bench", name="和平街道")
    db.session.add(street)
    db.session.flush()
    community = Community(street_id=street.id, code="C-bench", name="幸福社区")
    db.session.add(community)
    db.session.flush()
    names = []
    for g in range(4):
        grid = Grid(community_id=community.id, code=f"G-bench-{g}", name=f"第{g + 1}网格")
        db.session.add(grid)
        db.session.flush()
        for b in range(25):
            name = f"幸福里{g * 25 + b + 1}号楼"
            db.session.add(
                Building(grid_id=grid.id, name=name, address=f"和平路{b}号{name}", unit_count=4)
            )
            names.append(name)
    user = create_user("bench-admin", "bench-password", "导入测试")
    grant(user, "community_staff", community.id)
    db.session.commit()
    return user.id, names


def id_number(n: int, born: date) -> str:
    body = f"110101{born:%Y%m%d}{n % 1000:03d}"
    return body + id_check_char(body)


def write_file(path: Path, buildings: list[str], rows: int) -> None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(imports.SHEET)
    sheet.append([header for _field, header in imports.COLUMNS])
    n = 0
    household = 0
    while n < rows:
        building = buildings[household % len(buildings)]
        unit = household // len(buildings) % 4 + 1
        room = f"{household // (len(buildings) * 4) + 1}0{household % 3 + 1}"
        for member in range(2 if household % 2 else 3):
            if n >= rows:
                break
            born = date(1940, 1, 1) + timedelta(days=(n * 37) % 25000)
            floating = n % 20 == 0
            sheet.append(
                [
                    building,
                    unit,
                    room,
                    f"139{household:08d}" if member == 0 else None,
                    "出租" if floating else "自住",
                    SURNAMES[n % len(SURNAMES)]
                    + GIVEN[n % len(GIVEN)]
                    + GIVEN[(n // 7) % len(GIVEN)],
                    id_number(n, born),
                    None,
                    None,
                    "户主" if member == 0 else "家属",
                    f"138{n:08d}",
                    "独居、残疾" if n % 50 == 0 else ("流动人口" if floating else None),
                    2 if n % 50 == 0 else None,
                    f"京居{n:08d}" if floating else None,
                    "2028-06-30" if floating else None,
                    "河南省周口市" if floating else None,
                ]
            )
            n += 1
        household += 1
    workbook.save(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="import-bench-"))
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{workdir / 'bench.db'}"
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "IMPORT_FOLDER": str(workdir / "imports"), "TESTING": True}
    )
    with app.app_context():
        Base.metadata.drop_all(db.engine)
        Base.metadata.create_all(db.engine)
        user_id, buildings = build_world()
        source = workdir / "register.xlsx"
        started = time.perf_counter()
        write_file(source, buildings, args.rows)
        size_kb = source.stat().st_size / 1024
        print(
            f"database: {db.engine.dialect.name}; file: {args.rows:,} rows, {size_kb:.0f} KB,"
            f" written in {time.perf_counter() - started:.1f} s"
        )
        from webapp.models import User

        user = db.session.get(User, user_id)
        for attempt in ("first import", "same file again"):
            job = imports.start_import(user, source.read_bytes(), "register.xlsx")
            db.session.commit()
            started = time.perf_counter()
            job = imports.run_job(job.id)
            checked = time.perf_counter() - started
            assert job.status == "ready", (job.status, job.failure, job.errors[:3])
            imports.request_commit(user, job)
            db.session.commit()
            started = time.perf_counter()
            job = imports.run_job(job.id, commit=True)
            written = time.perf_counter() - started
            assert job.status == "done", (job.status, job.failure)
            print(
                f"{attempt}: check {checked:.1f} s ({args.rows / checked:,.0f} rows/s);"
                f" check again + write {written:.1f} s; new households {job.new_households:,},"
                f" new residents {job.new_residents:,}, unchanged {job.unchanged_rows:,}"
            )
        residents = db.session.query(Resident).count()
        print(f"residents in the database: {residents:,}")
        db.session.query(RegisterImport).delete()
        db.session.commit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
