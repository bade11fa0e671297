"""Push throughput and latency beside same-run baselines (DESIGN.md §10, sync budgets).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/gr_bench .venv/bin/python bench/push.py

The database must hold demo data (`flask demo-data`, any scale); pushes go in as `worker1`.
The app runs under gunicorn (2 workers, gthread, keep-alive) in a child process. Printed, each
beside its budget and its baseline measured in the same run:

- /healthz rate and latency (the floor of any request here), sequential and 8 clients;
- one-op pushes of a visit, sequential and 8 clients, beside a raw one-op transaction (the same
  visit and op-log rows inserted and committed through SQLAlchemy Core, no app);
- a 200-op push, beside the raw bulk insert of the same 200 visits and op-log rows.

Every pushed op must come back `applied`; the script fails otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import requests
from sqlalchemy import create_engine, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webapp.models import Household, Membership, OpLog, User, Visit  # noqa: E402

API = {"X-GridRounds-Client": "1", "Content-Type": "application/json"}
PASSWORD = "gridrounds-demo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Server:
    """gunicorn serving the app in a child process (gthread, keep-alive), up once /healthz answers.

    Also used by bench/pages.py and bench/soak.py."""

    def __init__(
        self,
        database_url: str,
        workers: int,
        threads: int,
        log_path: str = "/tmp/bench_push_server.log",
    ):
        self.port = free_port()
        self.log_path = log_path
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DATABASE_URL": database_url, "GRIDROUNDS_ENV": "development"}
        self.process = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "-w",
                str(workers),
                "-k",
                "gthread",
                "--threads",
                str(threads),
                "--keep-alive",
                "30",
                "-b",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                "webapp:create_app()",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(log_path, "w"),  # noqa: SIM115
        )
        deadline = time.time() + 300  # a loaded machine boots slowly
        while time.time() < deadline:
            try:
                if requests.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"server did not come up; see {log_path}")

    def worker_pids(self) -> list[int]:
        """The gunicorn master's children (its workers), from /proc."""
        master = self.process.pid
        children = Path(f"/proc/{master}/task/{master}/children")
        if children.exists():
            return sorted(int(pid) for pid in children.read_text().split())
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended meanwhile
            if int(fields[1]) == master:
                pids.append(int(stat.parent.name))
        return sorted(pids)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def logged_in(base: str, username: str) -> requests.Session:
    session = requests.Session()
    page = session.get(base + "/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    token = token or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    response = session.post(
        base + "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        allow_redirects=False,
    )
    assert response.status_code == 303, response.status_code
    session.headers.update(API)
    return session


def worker_scope(engine, username: str = "worker1") -> tuple[int, int, list[int]]:
    """(user id, grid id, the grid's household ids) of a grid worker of the demo data."""
    with engine.connect() as connection:
        user_id = connection.execute(select(User.id).where(User.username == username)).scalar()
        grid_id = connection.execute(
            select(Membership.scope_id).where(Membership.user_id == user_id)
        ).scalar()
        households = list(
            connection.scalars(
                select(Household.id).where(Household.grid_id == grid_id).order_by(Household.id)
            )
        )
    return user_id, grid_id, households


def visit_op(household_id: int) -> dict:
    return {
        "op_id": str(uuid.uuid4()),
        "type": "visit.create",
        "record_id": str(uuid.uuid4()),
        "client_time": datetime.now(UTC).isoformat(),
        "payload": {"household_id": household_id, "visit_kind": "routine", "notes": "入户走访"},
    }


def run_clients(clients: int, per_client: int, call) -> tuple[float, list[float]]:
    """(requests per second, latencies in ms) of `clients` threads each calling `call` in turn."""
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[BaseException] = []
    barrier = threading.Barrier(clients + 1)

    def worker(n: int) -> None:
        try:
            state = call.setup(n) if hasattr(call, "setup") else None
            barrier.wait()
            mine = []
            for _ in range(per_client):
                started = time.perf_counter()
                call(state)
                mine.append((time.perf_counter() - started) * 1000)
            with lock:
                latencies.extend(mine)
        except BaseException as error:  # noqa: BLE001 — reported below
            errors.append(error)
            try:
                barrier.abort()
            except threading.BrokenBarrierError:
                pass

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return clients * per_client / elapsed, latencies


def line(name: str, rate: float, latencies: list[float], note: str = "") -> dict:
    row = {
        "what": name,
        "rate": round(rate, 1),
        "p50": round(percentile(latencies, 50), 1),
        "p95": round(percentile(latencies, 95), 1),
        "p99": round(percentile(latencies, 99), 1),
    }
    print(
        f"{name:<44} {rate:>8.1f}/s  p50 {row['p50']:>7.1f} ms  p95 {row['p95']:>7.1f} ms"
        f"  p99 {row['p99']:>7.1f} ms  {note}"
    )
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--requests", type=int, default=200, help="one-op pushes per series")
    parser.add_argument("--batches", type=int, default=10, help="200-op pushes per series")
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("set DATABASE_URL or --database-url")

    engine = create_engine(args.database_url.replace("postgresql://", "postgresql+psycopg://"))
    worker, grid_id, households = worker_scope(engine)
    print(f"database {engine.url.render_as_string(hide_password=True)} · worker1 grid {grid_id}")
    print(
        f"gunicorn {args.workers} workers × {args.threads} threads · "
        f"{os.cpu_count()} CPUs · {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    figures: dict[str, dict] = {}
    server = Server(args.database_url, args.workers, args.threads)
    try:
        base = server.base

        class Healthz:
            def setup(self, n):
                return requests.Session()

            def __call__(self, session):
                assert session.get(base + "/healthz").status_code == 200

        class OneOp:
            def setup(self, n):
                return logged_in(base, "worker1")

            def __call__(self, session):
                op = visit_op(households[len(households) // 2])
                body = json.dumps({"device_id": "bench", "ops": [op]})
                response = session.post(base + "/api/v1/sync/push", data=body)
                assert response.status_code == 200, response.text[:300]
                assert response.json()["results"][0]["status"] == "applied", response.text[:300]

        class Batch:
            def setup(self, n):
                return logged_in(base, "worker1")

            def __call__(self, session):
                ops = [visit_op(households[i % len(households)]) for i in range(200)]
                body = json.dumps({"device_id": "bench", "ops": ops})
                response = session.post(base + "/api/v1/sync/push", data=body)
                assert response.status_code == 200, response.text[:300]
                statuses = {r["status"] for r in response.json()["results"]}
                assert statuses == {"applied"}, statuses

        now = datetime.now(UTC)

        def rows(n: int) -> tuple[list[dict], list[dict]]:
            visits, oplogs = [], []
            for i in range(n):
                op = visit_op(households[i % len(households)])
                record_id = uuid.UUID(op["record_id"])
                visits.append(
                    {
                        "id": record_id,
                        "author_id": worker,
                        "grid_id": grid_id,
                        "client_time": now,
                        "received_at": now,
                        "clock_skew_flagged": False,
                        "change_seq": 0,
                        "photo_ids": [],
                        "household_id": op["payload"]["household_id"],
                        "visited_at": now,
                        "visit_kind": "routine",
                        "present_resident_ids": [],
                        "needs": [],
                        "notes": "入户走访",
                    }
                )
                oplogs.append(
                    {
                        "op_id": uuid.UUID(op["op_id"]),
                        "user_id": worker,
                        "device_id": "raw",
                        "op_type": "visit.create",
                        "record_id": op["record_id"],
                        "body_sha256": "0" * 64,
                        "status": "applied",
                        "result": {"status": "applied"},
                        "client_time": now,
                        "received_at": now,
                    }
                )
            return visits, oplogs

        class RawOne:
            def setup(self, n):
                return engine.connect()

            def __call__(self, connection):
                visits, oplogs = rows(1)
                with connection.begin():
                    connection.execute(insert(Visit.__table__), visits)
                    connection.execute(insert(OpLog.__table__), oplogs)

        class RawBulk:
            def setup(self, n):
                return engine.connect()

            def __call__(self, connection):
                visits, oplogs = rows(200)
                with connection.begin():
                    connection.execute(insert(Visit.__table__), visits)
                    connection.execute(insert(OpLog.__table__), oplogs)

        n = args.requests
        run_clients(1, 20, OneOp())  # warm both workers' caches and connections
        run_clients(2, 10, OneOp())
        run_clients(1, 3, Batch())
        run_clients(1, 20, RawOne())
        print("\n-- one-op pushes (budget: ≥ 50% of the raw one-op transaction, same run) --")
        for clients in (1, 8):
            per = max(1, n // clients)
            figures[f"healthz_{clients}"] = line(
                f"/healthz, {clients} client(s)", *run_clients(clients, per, Healthz())
            )
            raw = line(
                f"raw one-op transaction, {clients} client(s)", *run_clients(clients, per, RawOne())
            )
            figures[f"raw_one_{clients}"] = raw
            push = run_clients(clients, per, OneOp())
            ratio = push[0] / raw["rate"]
            verdict = "met" if ratio >= 0.5 else "NOT met"
            figures[f"push_one_{clients}"] = line(
                f"one-op push, {clients} client(s)",
                *push,
                note=f"= {ratio:.0%} of raw ({verdict})",
            )
        print("\n-- 200-op push (budget: ≤ 200 ms and ≤ 10× the raw bulk insert, same run) --")
        raw_bulk = line("raw bulk insert of 200 rows", *run_clients(1, args.batches, RawBulk()))
        figures["raw_bulk_200"] = raw_bulk
        batch_rate, batch_latencies = run_clients(1, args.batches, Batch())
        p50 = percentile(batch_latencies, 50)
        times = p50 / raw_bulk["p50"]
        verdict = "met" if p50 <= 200 and times <= 10 else "NOT met"
        figures["push_200"] = line(
            "200-op push, 1 client",
            batch_rate,
            batch_latencies,
            note=f"p50 = {times:.1f}× raw ({verdict})",
        )
        figures["push_200_8"] = line(
            "200-op push, 8 clients", *run_clients(8, max(1, args.batches // 4), Batch())
        )
    finally:
        server.stop()
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
