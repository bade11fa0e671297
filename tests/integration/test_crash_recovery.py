"""A reduced run of bench/crash_test.py, so CI exercises crash recovery of the sync push: 600 visit
ops pushed in batches of 25 with retries while gunicorn is SIGKILLed every 1–2 s (once it is up)
must end as exactly 600 records, every acknowledged op present, the database intact (DESIGN.md
§10; the full 5,000-op run's numbers are in bench/RESULTS.md).

On PostgreSQL the run gets a database of its own next to the suite's, since the bench wipes the
database it is given.
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import PROJECT_ROOT
from webapp.config import database_url_from_env


@contextmanager
def crash_database():
    """Environment for the bench: its own SQLite file (the bench makes it) or PG database."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
        return
    suite = make_url(database_url_from_env(""))
    name = f"{suite.database}_crash"
    admin = create_engine(suite, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        own = suite.set(database=name).render_as_string(hide_password=False)
        yield {**os.environ, "DATABASE_URL": own.replace("postgresql+psycopg://", "postgresql://")}
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_pushes_survive_the_server_being_killed_again_and_again():
    with crash_database() as env:
        run = subprocess.run(
            [
                sys.executable,
                str(PROJECT_ROOT / "bench" / "crash_test.py"),
                "--ops",
                "600",
                "--batch",
                "25",
                "--pause",
                "0.4",  # spread the 24 batches over ~10 s of serving, so several kills land
                "--kill-min",
                "1",
                "--kill-max",
                "2",
                # Enough kills to land in every phase of a push; a cap, so that a loaded
                # machine (CI runs two suites side by side) finishes rather than crawls.
                "--max-kills",
                "8",
                "--time-limit",
                # Each restart boots gunicorn again (2-3 s of imports on a busy 2-core machine),
                # and kills land every 1-2 s of serving: room for that, not for losing anything.
                "240",
                "--wipe",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=420,
        )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    assert "records             600 (acknowledged 600)" in report
    kills = int(report.split("kills", 1)[1].split()[0])
    assert kills >= 2, report
