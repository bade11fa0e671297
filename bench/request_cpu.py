"""CPU per request of authenticated API calls beside /healthz, in one process and one run
(issue 15, "cheaper requests"). CPU time (not wall time) so a busy machine distorts it less.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/gr_bench .venv/bin/python bench/request_cpu.py

Needs demo data; calls go in as `worker1` through the Flask test client (no HTTP server, so
the figures are the app's own cost). `--profile` prints where an authenticated call spends it.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webapp import create_app  # noqa: E402

API = {"X-GridRounds-Client": "1"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument(
        "--profile",
        nargs="?",
        const="/api/v1/me",
        default=None,
        help="profile one call (default /api/v1/me; or 'one-op push', 'empty incremental pull')",
    )
    args = parser.parse_args()
    app = create_app()
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    login = client.post(
        "/login",
        data={"username": "worker1", "password": "gridrounds-demo", "csrf_token": token},
    )
    assert login.status_code == 303
    _, cursor = None, ""
    for _ in range(50):
        body = client.get("/api/v1/sync/pull", query_string={"cursor": cursor}, headers=API)
        cursor = body.get_json()["next_cursor"]
        if not body.get_json()["has_more"]:
            break
    me = client.get("/api/v1/me", headers=API).get_json()
    household = None
    for change in client.get("/api/v1/sync/pull", headers=API).get_json()["changes"]:
        if change["entity"] == "household":
            household = change["id"]
            break

    def one_op_push():
        op = {
            "op_id": str(uuid.uuid4()),
            "type": "visit.create",
            "record_id": str(uuid.uuid4()),
            "client_time": datetime.now(UTC).isoformat(),
            "payload": {"household_id": household},
        }
        response = client.post(
            "/api/v1/sync/push", json={"device_id": "cpu", "ops": [op]}, headers=API
        )
        assert response.get_json()["results"][0]["status"] == "applied"

    calls = {
        "/healthz": lambda: client.get("/healthz"),
        "/api/v1/me": lambda: client.get("/api/v1/me", headers=API),
        "empty incremental pull": lambda: client.get(
            "/api/v1/sync/pull", query_string={"cursor": cursor}, headers=API
        ),
        "one-op push": one_op_push,
    }
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · worker1 ({me['user']['id']}) · n={args.n}")
    baseline = None
    for name, call in calls.items():
        for _ in range(10):
            call()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(args.n):
            call()
        cpu = (time.process_time() - cpu) / args.n * 1000
        wall = (time.perf_counter() - wall) / args.n * 1000
        baseline = baseline or cpu
        print(
            f"{name:<24} CPU {cpu:6.2f} ms/request ({cpu / baseline:4.1f}× /healthz)"
            f"  wall {wall:6.2f} ms"
        )
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.n):
            calls[args.profile]()
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
    return 0


if __name__ == "__main__":
    sys.exit(main())
