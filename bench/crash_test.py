#!/usr/bin/env python3
"""Crash test of the sync push (DESIGN.md §10, reliability): push 5,000 visit ops with retries
while the server is SIGKILLed every few seconds, then check that exactly those 5,000 records
exist, that every op the server acknowledged is among them, and that the database is intact.

    .venv/bin/python bench/crash_test.py                 # fresh SQLite database in a temp dir
    DATABASE_URL=postgresql://… .venv/bin/python bench/crash_test.py --wipe   # PostgreSQL

The server is gunicorn (2 workers) in its own process group, so a kill takes master and workers
down at once, mid-request and mid-commit. The client is the phone: it resends a batch until it
gets an answer, and forgets an op only once the answer names it `applied` or `duplicate`.
Exit status 0 when every check holds, 1 when one fails, 2 when the time limit runs out.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the checks at the end read the database through the app's models
VENV_BIN = Path(sys.executable).parent
CLIENT_HEADERS = {"X-GridRounds-Client": "1"}
DEMO_PASSWORD = "gridrounds-demo"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@dataclass
class Stats:
    started: float = field(default_factory=time.monotonic)
    kills: int = 0
    restarts: int = 0
    batches_sent: int = 0
    retries: int = 0  # attempts that got no usable answer (connection error, timeout, 5xx)
    applied: int = 0
    duplicates: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


class Server:
    """The app under gunicorn (or `flask run`), killable as a whole process group."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path, kind: str):
        self.env, self.port, self.log_path, self.kind = env, port, log_path, kind
        self.process: subprocess.Popen | None = None
        self.lock = threading.Lock()

    def command(self) -> list[str]:
        if self.kind == "flask":
            return [
                str(VENV_BIN / "flask"),
                "--app",
                "webapp",
                "run",
                "--port",
                str(self.port),
                "--no-reload",
            ]
        return [
            str(VENV_BIN / "gunicorn"),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--timeout",
            "60",
            "webapp:create_app()",
        ]

    def start(self) -> None:
        with self.lock:
            log = self.log_path.open("ab")
            self.process = subprocess.Popen(
                self.command(),
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: one killpg takes all of it
            )
            log.close()

    def kill(self) -> None:
        with self.lock:
            if self.process is None:
                return
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
            self.process = None

    def wait_until_up(self, timeout: float = 30, stop: threading.Event | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not (stop and stop.is_set()):
            try:
                if requests.get(self.url("/healthz"), timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        if stop and stop.is_set():
            return
        raise RuntimeError(f"server did not come up; see {self.log_path}")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def flask_cli(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "webapp", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def prepare_database(env: dict[str, str], wipe: bool) -> None:
    if wipe:
        from sqlalchemy import create_engine, text

        from webapp.config import database_url_from_env
        from webapp.models import Base

        engine = create_engine(database_url_from_env(""), isolation_level="AUTOCOMMIT")
        Base.metadata.drop_all(engine)
        with engine.connect() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        engine.dispose()
    flask_cli(env, "db", "upgrade")
    flask_cli(env, "demo-data", "--scale", "small", "--seed", "1")


def login(session: requests.Session, server: Server, username: str) -> None:
    while True:
        try:
            page = session.get(server.url("/login"), timeout=5)
            token = CSRF.search(page.text).group(1)
            response = session.post(
                server.url("/login"),
                data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token},
                allow_redirects=False,
                timeout=5,
            )
            if response.status_code == 303:
                return
            raise RuntimeError(f"login as {username} answered {response.status_code}")
        except (requests.RequestException, AttributeError):
            time.sleep(0.2)  # the server is down or half up: the killer will restart it


def household_ids(session: requests.Session, server: Server) -> list[int]:
    while True:
        try:
            response = session.get(
                server.url("/api/v1/sync/pull"),
                params={"limit": 2000},
                headers=CLIENT_HEADERS,
                timeout=10,
            )
            if response.status_code == 200:
                changes = response.json()["changes"]
                return [c["id"] for c in changes if c["entity"] == "household"]
        except requests.RequestException:
            pass
        time.sleep(0.2)


def make_ops(count: int, households: list[int]) -> list[dict]:
    return [
        {
            "op_id": str(uuid.uuid4()),
            "type": "visit.create",
            "record_id": str(uuid.uuid4()),
            "client_time": "2026-11-21T09:00:00+08:00",
            "payload": {"household_id": households[n % len(households)], "visit_kind": "routine"},
        }
        for n in range(count)
    ]


def push_all(
    session: requests.Session,
    server: Server,
    ops: list[dict],
    batch_size: int,
    stats: Stats,
    deadline: float,
    username: str,
    answers: dict[str, dict],
    pause: float = 0.0,
) -> None:
    """Push until every op has an answer, kept in `answers` by op_id. Raises TimeoutError."""
    pending = list(ops)
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError
        batch = pending[:batch_size]
        time.sleep(pause)
        stats.batches_sent += 1
        try:
            response = session.post(
                server.url("/api/v1/sync/push"),
                json={"device_id": "crash-test", "ops": batch},
                headers=CLIENT_HEADERS,
                timeout=(3, 30),
            )
        except requests.RequestException:
            stats.retries += 1
            time.sleep(0.1)
            continue
        if response.status_code == 401:
            login(session, server, username)  # keep the outbox, log in again (DESIGN.md §5)
            stats.retries += 1
            continue
        if response.status_code >= 500:
            stats.retries += 1
            time.sleep(0.1)
            continue
        if response.status_code != 200:
            stats.failures.append(f"push answered {response.status_code}: {response.text[:300]}")
            return
        results = response.json()["results"]
        if [r["op_id"] for r in results] != [op["op_id"] for op in batch]:
            stats.failures.append("results are not in the ops' order")
        done = set()
        for op, result in zip(batch, results, strict=True):
            if result["status"] not in ("applied", "duplicate"):
                stats.failures.append(f"op {op['op_id']}: {result}")
            elif result["record_id"] != op["record_id"]:
                stats.failures.append(f"op {op['op_id']} answered another record: {result}")
            stats.applied += result["status"] == "applied"
            stats.duplicates += result["status"] == "duplicate"
            answers[op["op_id"]] = result
            done.add(op["op_id"])
        pending = [op for op in pending if op["op_id"] not in done]


def killer(
    server: Server,
    stop: threading.Event,
    stats: Stats,
    low: float,
    high: float,
    max_kills: int | None = None,
) -> None:
    """Kill every `low`–`high` s after the last restart; but a server still booting then (a busy
    machine) is first let up and made to serve a moment, so that every kill can land mid-request
    rather than the run degrading into killing a server that never serves. After `max_kills`
    the server is left alone to finish: on a loaded machine, where a boot takes longer than the
    serving between kills, the run would otherwise crawl."""
    while not stop.wait(random.uniform(low, high)):
        if max_kills is not None and stats.kills >= max_kills:
            return
        try:
            server.wait_until_up(timeout=60, stop=stop)
        except RuntimeError:
            stats.failures.append("the server did not come back within 60 s")
            return
        if stop.wait(random.uniform(0.2, 1.0)):
            return
        server.kill()
        stats.kills += 1
        server.start()
        stats.restarts += 1


def verify(ops: list[dict], answers: dict[str, dict], stats: Stats) -> dict:
    from sqlalchemy import create_engine, func, select, text

    from webapp.config import database_url_from_env
    from webapp.models import OpLog, Visit

    engine = create_engine(database_url_from_env(""))
    record_ids = [uuid.UUID(op["record_id"]) for op in ops]
    acknowledged = {
        uuid.UUID(answers[op["op_id"]]["record_id"]) for op in ops if op["op_id"] in answers
    }
    found: set[uuid.UUID] = set()
    with engine.connect() as connection:
        for start in range(0, len(record_ids), 500):
            chunk = record_ids[start : start + 500]
            found |= set(connection.scalars(select(Visit.id).where(Visit.id.in_(chunk))))
        total_logged = connection.scalar(
            select(func.count()).select_from(OpLog).where(OpLog.device_id == "crash-test")
        )
        integrity = "n/a (PostgreSQL)"
        if engine.dialect.name == "sqlite":
            integrity = connection.execute(text("PRAGMA integrity_check")).scalar()
    engine.dispose()
    if len(found) != len(ops):
        stats.failures.append(f"{len(found)} of {len(ops)} records exist")
    if missing := acknowledged - found:
        stats.failures.append(f"{len(missing)} acknowledged ops have no record")
    if total_logged != len(ops):
        stats.failures.append(f"{total_logged} op log rows for {len(ops)} ops")
    if integrity not in ("ok", "n/a (PostgreSQL)"):
        stats.failures.append(f"integrity_check: {integrity}")
    return {"records": len(found), "acknowledged": len(acknowledged), "integrity": integrity}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument(
        "--pause", type=float, default=0.0, help="seconds between batches (a phone flushing slowly)"
    )
    parser.add_argument("--kill-min", type=float, default=2.0, help="seconds between kills, min")
    parser.add_argument("--kill-max", type=float, default=4.0, help="seconds between kills, max")
    parser.add_argument("--time-limit", type=float, default=600, help="give up (exit 2) after")
    parser.add_argument(
        "--max-kills", type=int, default=None, help="stop killing after this many (default: never)"
    )
    parser.add_argument("--server", choices=("gunicorn", "flask"), default="gunicorn")
    parser.add_argument("--user", default="worker1")
    parser.add_argument(
        "--wipe",
        action="store_true",
        help="with DATABASE_URL: drop every table of that database first (it must be a test one)",
    )
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    random.seed(args.seed)

    workdir = Path(tempfile.mkdtemp(prefix="gridrounds-crash-"))
    env = {**os.environ, "SECRET_KEY": "crash-test-secret", "GRIDROUNDS_ENV": "development"}
    database = "postgresql" if env.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    if database == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{workdir / 'crash.db'}"
    elif not args.wipe:
        print("with DATABASE_URL set, pass --wipe (it drops every table there)", file=sys.stderr)
        return 1
    os.environ["DATABASE_URL"] = env["DATABASE_URL"]  # for the checks made from this process
    prepare_database(env, wipe=database == "postgresql")

    server = Server(env, free_port(), workdir / "server.log", args.server)
    stats = Stats()
    stop = threading.Event()
    server.start()
    server.wait_until_up()
    session = requests.Session()
    login(session, server, args.user)
    households = household_ids(session, server)
    ops = make_ops(args.ops, households)
    stats = Stats()  # time the pushes, not the set-up
    chaos = threading.Thread(
        target=killer,
        args=(server, stop, stats, args.kill_min, args.kill_max, args.max_kills),
        daemon=True,
    )
    chaos.start()
    status = 0
    answers: dict[str, dict] = {}
    try:
        push_all(
            session,
            server,
            ops,
            args.batch,
            stats,
            time.monotonic() + args.time_limit,
            args.user,
            answers,
            args.pause,
        )
    except TimeoutError:
        stats.failures.append(f"gave up after {args.time_limit:.0f} s")
        status = 2
    finally:
        stop.set()
        chaos.join()
        server.kill()
    elapsed = stats.elapsed
    checked = verify(ops, answers, stats)

    served = "gunicorn, 2 workers" if args.server == "gunicorn" else "flask run"
    print(f"database            {database} ({served})")
    print(f"ops                 {len(ops)} in batches of {args.batch}")
    print(f"elapsed             {elapsed:.1f} s")
    print(f"kills               {stats.kills} (every {args.kill_min:g}-{args.kill_max:g} s)")
    print(f"batches sent        {stats.batches_sent}")
    print(f"retries             {stats.retries}")
    print(f"answers             {stats.applied} applied, {stats.duplicates} duplicate")
    print(f"records             {checked['records']} (acknowledged {checked['acknowledged']})")
    print(f"integrity_check     {checked['integrity']}")
    if stats.failures:
        print("FAILED:")
        for failure in stats.failures[:20]:
            print(f"  {failure}")
        print(f"server log: {server.log_path}")
        return status or 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
