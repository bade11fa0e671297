"""The phone's offline copy of a grid on a slow phone (DESIGN.md §10).

    .venv/bin/python bench/offline_download.py [--runs 3]

Serves the small demo with gunicorn (bench/static_budget.py's server) and, for worker1 (one grid,
~270 households), on emulated slow 3G (400 ms RTT, 400 kbit/s, Chromium through CDP
Network.emulateNetworkConditions) prints:

- the first download of the copy: the sync pull pages grid-store.js fetches by itself after login,
  bytes on the wire (CDP encodedDataLength) and time until the copy is complete;
- the page shells (the templates the offline pages need), fetched the same way: bytes and time
  (the service worker precaches them; its own fetches are not throttled by the page's emulation,
  so the bench fetches them from the page to measure them as a phone would);
- a refresh with nothing new: requests and bytes;
- 我的网格 offline: from navigation to the page rendered from the copy by the service worker.

Budgets beside them: data and templates ≤ 150 KB and ≤ 15 s; a refresh with nothing new one
request ≤ 1 KB; the offline home ≤ 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from static_budget import CHROMIUM_ARGS, SLOW_3G, start_server  # noqa: E402

COPY_BUDGET_KB, COPY_BUDGET_S, EMPTY_BUDGET_B, OFFLINE_HOME_BUDGET_S = 150, 15.0, 1024, 0.5


def poll(page, expression: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out: {expression}")
        time.sleep(0.05)


class Wire:
    """Bytes on the wire per request, from the DevTools protocol."""

    def __init__(self, cdp):
        self.urls: dict[str, str] = {}
        self.bytes: dict[str, int] = {}
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.loadingFinished", self._finished)

    def _sent(self, event):
        self.urls[event["requestId"]] = event["request"]["url"]

    def _finished(self, event):
        self.bytes[event["requestId"]] = int(event["encodedDataLength"])

    def total(self, needle: str) -> tuple[int, int]:
        ids = [rid for rid, url in self.urls.items() if needle in url and rid in self.bytes]
        return len(ids), sum(self.bytes[rid] for rid in ids)


def run_once(browser, base: str) -> dict:
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "worker1")
    page.fill("input[name=password]", "gridrounds-demo")
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    wire = Wire(cdp)
    start = time.perf_counter()
    page.click("button[type=submit]")  # the copy starts downloading by itself on 我的网格
    poll(page, "window.GridStore && GridStore.meta().then(m => m.complete === true)")
    copy_seconds = time.perf_counter() - start
    pulls, pull_bytes = wire.total("/api/v1/sync/pull")
    shell_names = page.evaluate(
        """fetch('/sw.js').then(r => r.text()).then(t =>
            JSON.parse(t.match(/^const OFFLINE_ROUTES = (.*);$/m)[1]).map(r => r[1]))"""
    )
    start = time.perf_counter()
    page.evaluate(
        "names => Promise.all(names.map(n => fetch('/pwa/shell/' + n, {cache: 'no-store'})"
        ".then(r => r.text())))",
        shell_names,
    )
    shell_seconds = time.perf_counter() - start
    shells, shell_bytes = wire.total("/pwa/shell/")

    before = wire.total("/api/v1/sync/pull")
    page.evaluate("GridStore.pull(document.body.getAttribute('data-user'))")
    after = wire.total("/api/v1/sync/pull")
    empty_requests, empty_bytes = after[0] - before[0], after[1] - before[1]

    poll(page, "navigator.serviceWorker.controller !== null")
    context.set_offline(True)
    start = time.perf_counter()
    page.goto(f"{base}/grid", wait_until="commit")
    poll(page, "document.body && document.body.hasAttribute('data-offline-rendered')", 30)
    offline_home = time.perf_counter() - start
    context.close()
    return {
        "pulls": pulls,
        "pull_kb": pull_bytes / 1024,
        "copy_s": copy_seconds,
        "shells": shells,
        "shell_kb": shell_bytes / 1024,
        "shell_s": shell_seconds,
        "empty_requests": empty_requests,
        "empty_b": empty_bytes,
        "offline_home_s": offline_home,
    }


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="gr-offline-bench-"))
    server, base = start_server(workdir)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            runs = [run_once(browser, base) for _ in range(args.runs)]
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    m = {key: median([run[key] for run in runs]) for key in runs[0]}
    total_kb = m["pull_kb"] + m["shell_kb"]
    print(f"worker1, slow 3G (400 ms RTT, 400 kbit/s), median of {len(runs)} runs")
    print(
        f"  copy (sync pull):      {m['pulls']:.0f} requests  {m['pull_kb']:6.1f} KB"
        f"  {m['copy_s']:5.1f} s"
    )
    print(
        f"  page shells:           {m['shells']:.0f} requests  {m['shell_kb']:6.1f} KB"
        f"  {m['shell_s']:5.1f} s"
    )
    print(
        f"  data + templates:      {total_kb:6.1f} KB   budget ≤ {COPY_BUDGET_KB} KB;"
        f" {m['copy_s'] + m['shell_s']:5.1f} s   budget ≤ {COPY_BUDGET_S:.0f} s"
    )
    print(
        f"  refresh, nothing new:  {m['empty_requests']:.0f} request(s)  {m['empty_b']:.0f} B"
        f"   budget 1 request ≤ {EMPTY_BUDGET_B} B"
    )
    print(
        f"  我的网格 offline:       {m['offline_home_s']:.2f} s"
        f"   budget ≤ {OFFLINE_HOME_BUDGET_S} s"
    )


if __name__ == "__main__":
    main()
