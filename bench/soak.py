"""Soak: a steady 50 pushes per second for 5 minutes, with 0 errors (DESIGN.md §10, reliability).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/gr_soak .venv/bin/python bench/soak.py

The database must be PostgreSQL with demo data (`flask demo-data`, any scale); pushes go in as
`worker1`, into its grid's households. The app runs under gunicorn in a child process
(bench/push.py's server, 2 workers × 4 threads by default).

The load is open-loop: push i is due at start + i / rate, whether or not earlier pushes have
been answered; several client threads take the next due push in turn, so a slow server shows as
lateness (start of send − due time), which is recorded, and never as a quietly lower rate. Each
push is one `visit.create` op, every 10th a batch of 5. Every answer is counted (HTTP status, each
op's status, timeouts and connection errors); every op must come back `applied`.

Before and after the run: the gunicorn workers' RSS (/proc/<pid>/status of the master's
children), the app database's connections (pg_stat_activity, client backends), /healthz. After
the run it waits a few seconds for the pools to settle, then checks that the connections are
idle and no more than the pools can hold, and that the visits table gained exactly one row per
applied op. Prints per-minute latency (so drift shows) and a table of each figure beside its
budget; exits 1 if a budget fails.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests
from sqlalchemy import create_engine, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from push import API, Server, logged_in, percentile, visit_op, worker_scope  # noqa: E402

from webapp.models import OpLog, Visit  # noqa: E402 — push.py put the project on sys.path

MONITOR = "gr-bench-soak-monitor"  # application_name of this script's own connection
RSS_GROWTH_BUDGET_MIB = 50.0  # this script's bound per worker; DESIGN.md §10 names none


@dataclass
class Push:
    index: int
    ops: int
    due: float  # seconds since the start of the run
    sent: float = 0.0
    answered: float = 0.0
    http: int | None = None
    statuses: Counter = field(default_factory=Counter)
    error: str = ""  # exception or malformed answer
    skipped: bool = False  # not sent: the clients were more than --max-late behind its due time
    applied: list[str] = field(default_factory=list)  # record ids

    @property
    def ok(self) -> bool:
        return not self.error and self.http == 200 and self.statuses["applied"] == self.ops

    @property
    def latency_ms(self) -> float:
        return (self.answered - self.sent) * 1000

    @property
    def late_ms(self) -> float:
        return max(0.0, (self.sent - self.due) * 1000)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def rss_mib(pid: int) -> float | None:
    try:
        for row in Path(f"/proc/{pid}/status").read_text().splitlines():
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) / 1024
    except OSError:
        return None
    return None


def connections(engine) -> Counter:
    """The app database's client connections by state, this script's own left out."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT coalesce(state, '?'), count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND backend_type = 'client backend'"
                " AND application_name <> :me GROUP BY 1"
            ),
            {"me": MONITOR},
        )
        return Counter(dict(rows.all()))


def healthz(base: str) -> tuple[int | str, str, float]:
    started = time.perf_counter()
    try:
        response = requests.get(base + "/healthz", timeout=10)
        return response.status_code, response.text.strip(), (time.perf_counter() - started) * 1000
    except requests.RequestException as error:
        return type(error).__name__, "", (time.perf_counter() - started) * 1000


def fmt(values: list[float], p: float) -> str:
    return f"{percentile(values, p):,.0f}" if values else "–"


class Sampler(threading.Thread):
    """Every few seconds: connections, workers' RSS and the load average, kept per minute."""

    def __init__(self, engine, server: Server, t0: float, every: float = 5.0):
        super().__init__(name="soak-sampler", daemon=True)
        self.engine, self.server, self.t0, self.every = engine, server, t0, every
        self.stop = threading.Event()
        self.samples: list[dict] = []

    def run(self) -> None:
        while not self.stop.wait(self.every):
            try:
                conns = connections(self.engine)
            except Exception as error:  # noqa: BLE001 — a failed sample is shown, not fatal
                conns = Counter({f"error: {type(error).__name__}": 1})
            self.samples.append(
                {
                    "t": time.perf_counter() - self.t0,
                    "connections": sum(v for k, v in conns.items() if not k.startswith("error")),
                    "rss": {pid: rss_mib(pid) for pid in self.server.worker_pids()},
                    "load1": float(loadavg().split()[0]),
                }
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--seconds", type=float, default=300, help="length of the run")
    parser.add_argument("--rate", type=float, default=50, help="pushes per second")
    parser.add_argument("--clients", type=int, default=16, help="client threads")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--batch-every", type=int, default=10, help="every Nth push is a batch")
    parser.add_argument("--batch-size", type=int, default=5, help="ops in such a batch")
    parser.add_argument("--timeout", type=float, default=30, help="per push, seconds")
    parser.add_argument("--settle", type=float, default=5, help="seconds to wait after the run")
    parser.add_argument(
        "--max-late",
        type=float,
        default=10,
        help="skip (and count) a push the clients reach more than this many seconds after its"
        " due time, so that a server slower than --rate still ends the run on time",
    )
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        parser.error("set DATABASE_URL or --database-url to a PostgreSQL database")

    engine = create_engine(
        args.database_url.replace("postgresql://", "postgresql+psycopg://"),
        pool_size=1,
        max_overflow=2,
        connect_args={"application_name": MONITOR},
    )

    def count_visits() -> int:
        with engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(Visit)).scalar()

    _, grid_id, households = worker_scope(engine)
    total = int(args.seconds * args.rate)
    load_start = loadavg()
    print(f"database {engine.url.render_as_string(hide_password=True)} · worker1 grid {grid_id}")
    print(
        f"gunicorn {args.workers} workers × {args.threads} threads · {args.clients} client threads"
        f" · {os.cpu_count()} CPUs · {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC · load {load_start}"
    )
    print(
        f"{total:,} pushes over {args.seconds:.0f} s at {args.rate:g}/s"
        f" (every {args.batch_every}th a batch of {args.batch_size} ops)"
    )
    conns_cold = connections(engine)
    server = Server(
        args.database_url, args.workers, args.threads, log_path="/tmp/bench_soak_server.log"
    )
    figures: dict = {"load_start": load_start, "connections_cold": sum(conns_cold.values())}
    try:
        base = server.base
        url = base + "/api/v1/sync/push"
        device = f"soak-{int(time.time())}"
        login = logged_in(base, "worker1")  # once: the login limit is 8 per 10 minutes per name

        def session() -> requests.Session:
            one = requests.Session()
            one.headers.update(API)
            one.cookies.update(login.cookies)
            return one

        households_cycle = itertools.cycle(households)
        cycle_lock = threading.Lock()

        def send(one: requests.Session, push: Push, t0: float, device: str = device) -> None:
            with cycle_lock:
                ops = [visit_op(next(households_cycle)) for _ in range(push.ops)]
            body = json.dumps({"device_id": device, "ops": ops})
            push.sent = time.perf_counter() - t0
            try:
                response = one.post(url, data=body, timeout=args.timeout)
                push.http = response.status_code
                if response.status_code == 200:
                    results = response.json()["results"]
                    if [r["op_id"] for r in results] != [op["op_id"] for op in ops]:
                        push.error = "results do not match the ops"
                    for result in results:
                        push.statuses[result["status"]] += 1
                        if result["status"] == "applied":
                            push.applied.append(result["record_id"])
            except requests.Timeout:
                push.error = "timeout"
            except Exception as error:  # noqa: BLE001 — counted as an error, the run goes on
                push.error = type(error).__name__
            push.answered = time.perf_counter() - t0

        # Warm-up: both workers' pools and caches, at the run's concurrency, not counted.
        warm_sessions = [session() for _ in range(args.clients)]
        warm = [Push(i, 1, 0.0) for i in range(args.clients * 3)]
        warm_t0 = time.perf_counter()

        def warm_client(n: int) -> None:
            for push in warm[n :: args.clients]:
                send(warm_sessions[n], push, warm_t0, device + "-warm-up")

        warm_threads = [
            threading.Thread(target=warm_client, args=(n,)) for n in range(args.clients)
        ]
        for thread in warm_threads:
            thread.start()
        for thread in warm_threads:
            thread.join()
        warm_failed = [p for p in warm if not p.ok]
        if warm_failed:
            p = warm_failed[0]
            print(f"warm-up failed: HTTP {p.http} {p.error} {dict(p.statuses)}; see the log")
            return 1
        time.sleep(2)
        pids_before = server.worker_pids()
        rss_before = {pid: rss_mib(pid) for pid in pids_before}
        conns_before = connections(engine)
        cpu_before = {pid: cpu_seconds(pid) for pid in pids_before}
        health_before = healthz(base)
        visits_before = count_visits()
        print(
            f"before: workers {pids_before} RSS "
            + ", ".join(f"{v:.1f}" for v in rss_before.values())
            + f" MiB · connections {dict(conns_before)} · /healthz {health_before[0]}"
            f" {health_before[1]} · visits {visits_before:,}"
        )

        pushes = [
            Push(
                i,
                args.batch_size if i % args.batch_every == args.batch_every - 1 else 1,
                i / args.rate,
            )
            for i in range(total)
        ]
        sessions = [session() for _ in range(args.clients)]
        counter = itertools.count()
        counter_lock = threading.Lock()
        t0 = time.perf_counter() + 0.5
        sampler = Sampler(engine, server, t0)

        def client(n: int) -> None:
            while True:
                with counter_lock:
                    i = next(counter)
                if i >= total:
                    return
                delay = t0 + pushes[i].due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                elif -delay > args.max_late:
                    pushes[i].skipped = True
                    continue
                send(sessions[n], pushes[i], t0)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        sampler.start()
        for thread in threads:
            thread.start()
        minutes = int(args.seconds // 60) + 1
        for minute in range(1, minutes):
            # progress, once a minute
            while time.perf_counter() - t0 < minute * 60:
                time.sleep(0.5)
            done = [p for p in pushes if p.answered]
            print(
                f"  {minute} min: {len(done):,} answered, {sum(not p.ok for p in done)} errors,"
                f" {sum(p.skipped for p in pushes):,} skipped, load {loadavg()}",
                flush=True,
            )
        for thread in threads:
            thread.join()
        elapsed = max(p.answered for p in pushes) or 1e-9
        cpu_after = {pid: cpu_seconds(pid) for pid in pids_before}
        sampler.stop.set()
        sampler.join()

        time.sleep(args.settle)
        conns_after = connections(engine)
        waited = args.settle
        bound = args.workers * (args.threads + 1)  # a request thread each, and the push sender
        while (sum(conns_after.values()) > bound or set(conns_after) - {"idle"}) and waited < 30:
            time.sleep(1)
            waited += 1
            conns_after = connections(engine)
        health_after = healthz(base)
        pids_after = server.worker_pids()
        rss_after = {pid: rss_mib(pid) for pid in pids_after}
        visits_after = count_visits()
        applied_ids = [rid for p in pushes for rid in p.applied]
        with engine.connect() as connection:
            landed = connection.execute(
                select(func.count()).select_from(Visit).where(Visit.id.in_(applied_ids))
            ).scalar()
            oplog = connection.execute(
                select(func.count()).select_from(OpLog).where(OpLog.device_id == device)
            ).scalar()
        load_end = loadavg()
    finally:
        server.stop()
    log = Path(server.log_path).read_text(errors="replace")
    log_errors = sum(
        ("Traceback" in row) or ("[ERROR]" in row) or ("[CRITICAL]" in row)
        for row in log.splitlines()
    )

    # --- per minute ---
    print(
        "\n| minute | pushes sent | skipped | ops | errors | p50 ms | p95 ms | p99 ms | max ms"
        " | late p95 / max ms | connections max | load1 max |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    per_minute = []
    for minute in range(int((args.seconds - 1e-9) // 60) + 1):
        due = [p for p in pushes if minute * 60 <= p.due < (minute + 1) * 60]
        mine = [p for p in due if not p.skipped]
        if not mine:
            continue
        lat = [p.latency_ms for p in mine if p.answered]
        late = [p.late_ms for p in mine]
        samples = [s for s in sampler.samples if minute * 60 <= s["t"] < (minute + 1) * 60]
        conn_max = max((s["connections"] for s in samples), default=None)
        load1 = max((s["load1"] for s in samples), default=None)
        row = {
            "minute": minute + 1,
            "pushes": len(mine),
            "ops": sum(p.ops for p in mine),
            "errors": sum(not p.ok for p in mine),
            "skipped": len(due) - len(mine),
            "p50": percentile(lat, 50),
            "p95": percentile(lat, 95),
            "p99": percentile(lat, 99),
            "max": max(lat, default=0),
            "late_p95": percentile(late, 95),
            "late_max": max(late),
            "connections_max": conn_max,
            "load1_max": load1,
        }
        per_minute.append(row)
        print(
            f"| {minute + 1} | {row['pushes']:,} | {row['skipped']:,} | {row['ops']:,}"
            f" | {row['errors']} | {fmt(lat, 50)} | {fmt(lat, 95)} | {fmt(lat, 99)}"
            f" | {row['max']:,.0f}"
            f" | {row['late_p95']:,.0f} / {row['late_max']:,.0f} | {conn_max} | {load1} |"
        )

    # --- the figures beside their budgets ---
    answered = [p for p in pushes if p.answered]
    sent = [p for p in pushes if not p.skipped]
    failed = [p for p in sent if not p.ok]
    http = Counter(p.http for p in pushes if p.http is not None)
    statuses = sum((p.statuses for p in pushes), Counter())
    exceptions = Counter(p.error for p in pushes if p.error)
    ops_sent = sum(p.ops for p in sent)
    ops_applied = len(applied_ids)
    rate = len([p for p in answered if p.ok]) / elapsed
    lat_one = [p.latency_ms for p in answered if p.ops == 1]
    lat_batch = [p.latency_ms for p in answered if p.ops > 1]
    late = [p.late_ms for p in sent]
    cpu = sum(cpu_after[pid] - cpu_before[pid] for pid in cpu_before)
    growth = {
        pid: rss_after[pid] - rss_before[pid]
        for pid in pids_before
        if pid in rss_after and rss_after[pid] is not None and rss_before[pid] is not None
    }
    first, last = per_minute[0], per_minute[-1]
    rows: list[tuple[str, str, str, bool | None]] = [
        (
            "pushes sent / due",
            f"{len(sent):,} / {len(pushes):,}"
            f" ({len(pushes) - len(sent):,} skipped, > {args.max_late:g} s behind schedule)",
            "all",
            len(sent) == len(pushes),
        ),
        (
            "pushes answered 200 / sent",
            f"{http.get(200, 0):,} / {len(sent):,} (HTTP {dict(sorted(http.items()))})",
            "all",
            http.get(200, 0) == len(sent),
        ),
        (
            "ops applied / sent",
            f"{ops_applied:,} / {ops_sent:,} ({dict(statuses)})",
            "all `applied`",
            ops_applied == ops_sent,
        ),
        (
            "errors (non-200, op not applied, timeout, connection error)",
            f"{len(failed)}" + (f" ({dict(exceptions)})" if exceptions else ""),
            "0",
            not failed,
        ),
        (
            "rate achieved (pushes answered `applied` / s)",
            f"{rate:.2f}/s over {elapsed:.1f} s",
            f"≥ {args.rate * 0.98:g}/s",
            rate >= args.rate * 0.98,
        ),
        (
            "lateness of sends behind the schedule",
            f"p50 {fmt(late, 50)} ms, p95 {fmt(late, 95)} ms, max {max(late):,.0f} ms;"
            f" {sum(x > 1000 for x in late)} sends > 1 s late",
            "(shown)",
            None,
        ),
        (
            "gunicorn workers' CPU during the run",
            f"{cpu:.1f} s = {cpu / len(sent) * 1000:.1f} ms per push",
            "(shown)",
            None,
        ),
        (
            "latency, one-op push",
            f"p50 {fmt(lat_one, 50)} / p95 {fmt(lat_one, 95)} / p99 {fmt(lat_one, 99)} ms",
            "(shown)",
            None,
        ),
        (
            f"latency, {args.batch_size}-op push",
            f"p50 {fmt(lat_batch, 50)} / p95 {fmt(lat_batch, 95)} / p99 {fmt(lat_batch, 99)} ms",
            "(shown)",
            None,
        ),
        (
            "drift: p95 first minute → last minute",
            f"{first['p95']:,.0f} → {last['p95']:,.0f} ms",
            "(shown)",
            None,
        ),
        (
            "visits rows landed = ops applied (exactly once)",
            f"+{visits_after - visits_before:,} rows; {landed:,} of the applied record ids"
            f" present; {oplog:,} op-log rows",
            f"{ops_applied:,} each",
            visits_after - visits_before == landed == oplog == ops_applied,
        ),
        (
            "/healthz before → after",
            f"{health_before[0]} {health_before[1]} → {health_after[0]} {health_after[1]}"
            f" ({health_after[2]:.0f} ms)",
            '200 "ok"',
            health_after[0] == 200 and '"ok"' in health_after[1],
        ),
        (
            "gunicorn workers (pids) before → after",
            f"{pids_before} → {pids_after}",
            "same (none died or timed out)",
            pids_before == pids_after,
        ),
        (
            "server log: tracebacks / ERROR / CRITICAL lines",
            f"{log_errors}",
            "0",
            log_errors == 0,
        ),
        (
            "PostgreSQL connections: cold → after warm-up → peak → after",
            f"{sum(conns_cold.values())} → {sum(conns_before.values())}"
            f" → {max((s['connections'] for s in sampler.samples), default='–')}"
            f" → {sum(conns_after.values())} {dict(conns_after)} ({waited:.0f} s after)",
            f"after ≤ {bound} (workers × (threads + 1)), all idle",
            sum(conns_after.values()) <= bound and set(conns_after) <= {"idle"},
        ),
        (
            "connections: peak first minute → last minute",
            f"{first['connections_max']} → {last['connections_max']}",
            "not growing",
            (last["connections_max"] or 0) <= (first["connections_max"] or 0),
        ),
        (
            "workers' RSS after warm-up → after, MiB",
            "; ".join(
                f"{rss_before[pid]:.1f} → {rss_after.get(pid) or 0:.1f} ({growth.get(pid, 0):+.1f})"
                for pid in pids_before
            ),
            f"growth ≤ {RSS_GROWTH_BUDGET_MIB:g} MiB each (this script's bound)",
            bool(growth) and max(growth.values()) <= RSS_GROWTH_BUDGET_MIB,
        ),
        ("load average (1, 5, 15 min) start → end", f"{load_start} → {load_end}", "", None),
    ]
    print("\n| figure | measured | budget | met? |")
    print("|---|---|---|---|")
    for name, measured, budget, met in rows:
        verdict = "" if met is None else ("yes" if met else "**no**")
        print(f"| {name} | {measured} | {budget} | {verdict} |")
    if failed:
        print("\nfirst failures:")
        for p in failed[:10]:
            print(f"  push {p.index} at {p.due:.2f} s: HTTP {p.http} {p.error} {dict(p.statuses)}")
    if log_errors:
        print(f"\nserver log {server.log_path}: {log_errors} error lines")
    ok = all(met is not False for *_, met in rows)
    print(f"\nsoak {'passed' if ok else 'FAILED'}")
    if args.json:
        figures.update(
            per_minute=per_minute,
            rows=[{"figure": r[0], "measured": r[1], "budget": r[2], "met": r[3]} for r in rows],
            load_end=load_end,
        )
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
