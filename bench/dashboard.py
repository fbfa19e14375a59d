"""python -m bench.dashboard [--runs N] [--json PATH]: the dashboard's first load with the demo data,
as a ratio to a blank HTML page from the same server, both measured in this run.

A live uvicorn server (one process, SQLite, the demo corpus: the browser tests' harness) and
Debian's headless chromium driven by Playwright. Every load is a fresh browser context (empty
cache and storage) unless said otherwise; each figure is the median of --runs loads.

  blank page (baseline)   navigation start -> load event of a static, empty HTML page
  dashboard, first load   navigation start -> chart drawn (the page's `stanceline:chart-ready`
                          mark), topic ground-troops-ukraine (remembered from an earlier visit),
                          default actors, weekly, roll-up
  dashboard, reload       the same in a context that has loaded it once (warm HTTP cache)
  dashboard, first visit  nothing remembered: the first topic of the registry, found first

Other work on the machine slows both sides alike, which is why the ratio is the figure to compare;
the load average is recorded with the results.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from tests.browser.server import build_demo_database, live_server

TOPIC = "ground-troops-ukraine"
BLANK_PATH = "/bench/blank"
BUDGET_MS = 1000.0
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
READY = "() => performance.getEntriesByName('stanceline:chart-ready')[0].startTime"
LOADED = "() => performance.getEntriesByType('navigation')[0].loadEventEnd"


def add_blank_page(app: FastAPI) -> None:
    @app.get(BLANK_PATH, include_in_schema=False)
    def get_blank_page() -> HTMLResponse:
        return HTMLResponse("<!doctype html><html><head><title>blank</title></head><body></body></html>")


def measure(base: str, runs: int, chromium: str) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {"blank": [], "first_load": [], "reload": [], "first_visit": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        for _ in range(runs + 1):  # the first round warms the server and the browser; it is dropped
            blank = browser.new_context()
            page = blank.new_page()
            page.goto(base + BLANK_PATH, wait_until="load")
            times["blank"].append(float(page.evaluate(LOADED)))
            blank.close()

            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.add_init_script(f"localStorage.setItem('stanceline.topic', '{TOPIC}')")
            page = context.new_page()
            for key in ("first_load", "reload"):
                page.goto(base + "/")
                page.wait_for_selector("#chart[data-ready]", timeout=30_000)
                times[key].append(float(page.evaluate(READY)))
            context.close()

            newcomer = browser.new_context(viewport={"width": 1280, "height": 800})
            page = newcomer.new_page()
            page.goto(base + "/")
            page.wait_for_selector("#chart[data-ready]", timeout=30_000)
            times["first_visit"].append(float(page.evaluate(READY)))
            newcomer.close()
        browser.close()
    return {key: values[1:] for key, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--json", type=Path, default=Path("bench/results/dashboard.json"))
    args = parser.parse_args()
    chromium = os.environ.get("STANCELINE_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        sys.exit("chromium is not installed (apt-get install -y chromium); nothing measured")

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        database = build_demo_database(Path(tmp) / "demo.db")
        with live_server(database, add_blank_page) as server:
            times = measure(server.url, args.runs, chromium)
    medians = {key: statistics.median(values) for key, values in times.items()}
    baseline = medians["blank"]
    result: dict[str, Any] = {
        "runs": args.runs,
        "median_ms": {key: round(value, 1) for key, value in medians.items()},
        "ratio_to_blank_page": {
            key: round(value / baseline, 2) for key, value in medians.items() if key != "blank"
        },
        "first_load_under_1s": medians["first_load"] < BUDGET_MS,
        "all_ms": {key: [round(v, 1) for v in values] for key, values in times.items()},
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "cpus": os.cpu_count(),
    }
    print(f"dashboard first load with the demo data (median of {args.runs}, fresh browser contexts)")
    print(f"  blank page (baseline)   {baseline:7.1f} ms   1.00")
    for key, label in (
        ("first_load", "dashboard, first load"),
        ("reload", "dashboard, reload"),
        ("first_visit", "dashboard, first visit"),
    ):
        print(f"  {label:<23} {medians[key]:7.1f} ms  {medians[key] / baseline:5.2f}x")
    budget = "under" if result["first_load_under_1s"] else "OVER"
    print(
        f"  first load is {budget} the 1 s budget; load average {load_before[0]:.2f} (cpus: {os.cpu_count()})"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"  wrote {args.json}")


if __name__ == "__main__":
    main()
