"""Worker home and triage board under load, beside /healthz in the same run (DESIGN.md §10).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/gr_district .venv/bin/python bench/pages.py

Meant for district-scale data (`flask demo-data --scale district`); works on any demo data.
`worker1` opens 我的网格 (/grid), `street1` the triage board (/cases/triage); each with one
client and with 8, under gunicorn (bench/push.py's server). Budgets: worker home p95 ≤ 50 ms,
triage board p95 ≤ 150 ms with one client, ≤ 3× that with 8.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from push import Server, line, logged_in, run_clients  # noqa: E402

BUDGET_P95 = {"/grid": 50.0, "/cases/triage": 150.0}
USERS = {"/grid": "worker1", "/cases/triage": "street1"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--requests", type=int, default=200, help="requests per series")
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("set DATABASE_URL or --database-url")
    print(
        f"gunicorn {args.workers} workers × {args.threads} threads · {os.cpu_count()} CPUs · "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
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

        class Page:
            def __init__(self, path: str):
                self.path = path

            def setup(self, n):
                return logged_in(base, USERS[self.path])

            def __call__(self, session):
                response = session.get(base + self.path)
                assert response.status_code == 200, response.status_code

        for path in BUDGET_P95:
            run_clients(2, 5, Page(path))  # warm both workers
        for clients in (1, 8):
            per = max(1, args.requests // clients)
            print(f"\n-- {clients} client(s) --")
            figures[f"healthz_{clients}"] = line("/healthz", *run_clients(clients, per, Healthz()))
            for path, budget in BUDGET_P95.items():
                rate, latencies = run_clients(clients, per, Page(path))
                allowed = budget if clients == 1 else 3 * budget
                p95 = sorted(latencies)[int(0.95 * (len(latencies) - 1))]
                verdict = "met" if p95 <= allowed else f"NOT met by {p95 - allowed:.0f} ms"
                figures[f"{path}_{clients}"] = line(
                    path, rate, latencies, note=f"budget p95 ≤ {allowed:.0f} ms ({verdict})"
                )
    finally:
        server.stop()
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
