"""Static files on the wire and the cold worker home on a slow phone (DESIGN.md §10).

    .venv/bin/python bench/static_budget.py [--runs 3]

Serves the small demo (SQLite in a temp folder) with gunicorn — as production would, so the
answers pass through WhiteNoise exactly as deployed — and prints:

- JS and CSS on the wire: the gzip size of every script and stylesheet the worker home loads,
  as the server sends it (Content-Encoding gzip), beside the budgets (JS ≤ 50 KB, CSS ≤ 15 KB).
- Cold 我的网格 on emulated slow 3G (400 ms RTT, 400 kbit/s both ways, Chromium's network
  emulation through CDP): an empty browser, the session cookie only, no HTTP cache and no
  service worker; time to the load event, with the 3 s budget beside it. Also the same page
  warm (HTTP cache filled by the first load), which is what fingerprinted far-future caching buys.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
SLOW_3G = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 400_000 / 8,
    "uploadThroughput": 400_000 / 8,
}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
JS_BUDGET_KB, CSS_BUDGET_KB, COLD_HOME_BUDGET_S = 50, 15, 3.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workdir: Path) -> tuple[subprocess.Popen, str]:
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite:///{workdir / 'bench.db'}",
        SECRET_KEY="bench-static",
        FLASK_APP="webapp",
    )
    env.pop("REDIS_URL", None)
    flask = [str(VENV_BIN / "flask"), "--app", "webapp"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run(
        [*flask, "demo-data", "--scale", "small", "--seed", "1"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    server = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "webapp:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=1)
            return server, base
        except OSError:
            time.sleep(0.2)
    raise SystemExit("server did not start")


def login_cookies(context, base: str) -> None:
    page = context.request.get(f"{base}/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text()).group(1)
    answer = context.request.post(
        f"{base}/login",
        form={"username": "worker1", "password": "gridrounds-demo", "csrf_token": token},
        max_redirects=0,
    )
    assert answer.status in (302, 303), answer.status


def measure(base: str, runs: int) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        cold, warm, wire = [], [], {}
        for _ in range(runs):
            context = browser.new_context(
                viewport={"width": 360, "height": 740}, locale="zh-CN", service_workers="block"
            )
            login_cookies(context, base)
            page = context.new_page()
            sizes: dict[str, int] = {}

            def on_response(response, sizes=sizes):
                kind = response.request.resource_type
                if kind in ("script", "stylesheet"):
                    body = response.body()
                    encoding = response.headers.get("content-encoding", "identity")
                    # Playwright hands over the decoded body; the wire size is read from the
                    # transfer: re-fetch the exact URL with gzip and count its bytes.
                    sizes[response.url] = (kind, len(body), encoding)

            page.on("response", on_response)
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", SLOW_3G)
            start = time.perf_counter()
            page.goto(f"{base}/grid", wait_until="load")
            cold.append(time.perf_counter() - start)
            start = time.perf_counter()
            page.goto(f"{base}/grid", wait_until="load")
            warm.append(time.perf_counter() - start)
            wire = sizes
            context.close()
        browser.close()

    js = css = 0
    print("file                                                   raw      gzip on the wire")
    for url, (kind, raw, _encoding) in sorted(wire.items()):
        request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request) as answer:
            on_wire = len(answer.read())
            encoding = answer.headers.get("Content-Encoding", "identity")
        print(
            f"  {url.split('/static/')[-1][:50]:50} {raw / 1024:7.1f} KB {on_wire / 1024:6.1f} KB"
            f" ({encoding})"
        )
        if kind == "script":
            js += on_wire
        else:
            css += on_wire
    cold.sort()
    warm.sort()
    print(f"JS on the wire (gzip):   {js / 1024:6.1f} KB   budget ≤ {JS_BUDGET_KB} KB")
    print(f"CSS on the wire (gzip):  {css / 1024:6.1f} KB   budget ≤ {CSS_BUDGET_KB} KB")
    print(
        f"cold 我的网格, slow 3G:   median {cold[len(cold) // 2]:.2f} s "
        f"(runs: {', '.join(f'{t:.2f}' for t in cold)})   budget ≤ {COLD_HOME_BUDGET_S} s"
    )
    print(
        f"warm 我的网格, slow 3G:   median {warm[len(warm) // 2]:.2f} s "
        f"(runs: {', '.join(f'{t:.2f}' for t in warm)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="gr-static-bench-"))
    server, base = start_server(workdir)
    try:
        measure(base, args.runs)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
