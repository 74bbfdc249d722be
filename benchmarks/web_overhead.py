"""Does a page watching the run (--web) cost the run anything? Seconds per iteration with and without it.

    python -m benchmarks.web_overhead [--size 256] [--iterations 40] [--skip 10] [--repeats 5] [--client browser]

Runs stylize_cli.py on a full-size VGG-19 of random weights (the real layers: the same work as the real
network) and SIZE x SIZE images, in three ways, alternated round by round (each round in another order):

- ``off``: no --web;
- ``idle``: --web, no page open;
- ``page``: --web with a page open for the whole run: headless Chromium showing the real page (``--client
  browser``, the system's Chromium through Playwright: started before each such run and closed after it, so
  that ``off`` has no browser at all), or (``--client stream``) a Python client in this process that reads
  the event stream and fetches each new image as the page does (at most every 0.5 s, once the last is in).

Each run's seconds per iteration come from its --log: the seconds between the read-backs after iteration
``skip`` and after the last, over the iterations between (the start-up, the network's loading and the
page's first loads are outside that window). Printed: each run, then per way the median, min and max, and
the medians' ratios against ``off``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from typing import Any

from benchmarks import common
from benchmarks.bench_cli import write_inputs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
URL = re.compile(r"page is at (http://\S+)")
WAYS = ("off", "idle", "page")


def seconds_per_iteration(log: str, skip: int) -> float:
    """(seconds at the last read-back - seconds at the read-back after ``skip`` steps) / the steps between."""
    times = {}
    with open(log, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if record.get("event") == "losses":
                times[record["iteration"]] = record["seconds"]
    last = max(times)
    return (times[last] - times[skip]) / (last - skip)


def stream_client(url: str, stop: threading.Event) -> None:
    """What the page does, in Python: read the events; fetch the newest image when one is announced, at most
    every 0.5 s."""
    try:
        _follow(url, stop)
    except OSError:
        pass  # the run ended and its server went


def _follow(url: str, stop: threading.Event) -> None:
    newest, fetched, last = 0, -1, 0.0
    with urllib.request.urlopen(url + "events", timeout=60) as stream:
        for raw in stream:
            if stop.is_set():
                return
            line = raw.decode()
            found = re.search(r'"(?:version|frame)":(\d+)', line)
            if found:
                newest = max(newest, int(found.group(1)))
            now = time.monotonic()
            if newest > fetched and now - last >= 0.5:
                with urllib.request.urlopen(f"{url}image/best.jpg?v={newest}", timeout=60) as image:
                    image.read()
                    fetched, last = int(image.headers.get("X-Frame-Version", newest)), now


def one_run(way: str, client: str, folder: str, inputs: list[str], args: argparse.Namespace) -> float:
    network, content, style = inputs
    log = os.path.join(folder, f"{way}.jsonl")
    cmd = [sys.executable, os.path.join(ROOT, "stylize_cli.py"), "--content", content, "--styles", style,
           "--output", os.path.join(folder, "out.png"), "--network", network, "--iterations", str(args.iterations),
           "--overwrite", "--progress", "never", "--log", log]  # fmt: skip
    if way != "off":
        cmd += ["--web", "127.0.0.1:0", "--web-linger", "0"]
    with Watching(way, client, folder) as watching:  # the browser starts before the run, not during it
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
        if way != "off":
            watching.show(next((m.group(1) for m in map(URL.search, proc.stderr) if m), ""))
        rest = proc.stderr.read()
        if proc.wait() != 0:
            raise SystemExit(f"web_overhead: the run failed: {rest.strip().splitlines()[-1:]}")
    return seconds_per_iteration(log, args.skip)


class Watching:
    """The page of the ``page`` way: the client ready before the run starts, shown the page as soon as its address
    is printed (before the network is loaded), closed after the run; nothing for the other ways."""

    def __init__(self, way: str, client: str, folder: str) -> None:
        self.way, self.client, self.folder = way, client, folder
        self.stop = threading.Event()
        self.browser: Any = None
        self.context: Any = None

    def __enter__(self) -> Watching:
        if self.way == "page" and self.client == "browser":
            from browser import open_browser

            self.browser = open_browser(tempfile.mkdtemp(dir=self.folder))
            self.context = self.browser.__enter__()
        return self

    def show(self, url: str) -> None:
        if self.way != "page":
            return
        if self.context is not None:
            self.context.new_page().goto(url)
        else:
            threading.Thread(target=stream_client, args=(url, self.stop), daemon=True).start()

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.browser is not None:
            self.browser.__exit__(None, None, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--skip", type=int, default=10, help="iterations left out at the start of each run")
    parser.add_argument("--repeats", type=int, default=5, help="rounds of the three ways")
    parser.add_argument("--client", choices=("browser", "stream"), default="browser")
    args = parser.parse_args()
    if args.client == "browser":
        from browser import missing

        if missing():
            raise SystemExit(f"web_overhead: {missing()}; or --client stream")
    common.reexec_without_blas_overrides()
    results: dict[str, list[float]] = {way: [] for way in WAYS}
    with tempfile.TemporaryDirectory() as folder:
        inputs = write_inputs(folder, args.size)
        for k in range(args.repeats):
            order = WAYS[k % 3 :] + WAYS[: k % 3]
            for way in order:
                results[way].append(one_run(way, args.client, folder, inputs, args))
                print(f"round {k + 1} {way}: {results[way][-1]:.4f} s per iteration", flush=True)
    report(results, args)


def report(results: dict[str, list[float]], args: argparse.Namespace) -> None:
    base = statistics.median(results["off"])
    window = f"iterations {args.skip}..{args.iterations} of each run"
    print(f"\n{args.size}x{args.size}, {window}, {args.repeats} runs each, client {args.client}")
    for way in WAYS:
        values = results[way]
        median = statistics.median(values)
        print(f"{way:5s} median {median:.4f} s (min {min(values):.4f}, max {max(values):.4f}), "
              f"{median / base:.4f}x off ({100 * (median / base - 1):+.2f}%)")  # fmt: skip


if __name__ == "__main__":
    main()
