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
the medians' ratios against ``off``; then the median over the rounds of each round's ratio against its own
``off`` run (the runs of a round are minutes apart: this pairing takes out the machine's slower drifts); then
the CPU seconds: the run's process (all of it, the server's thread included) and the client's (the headless
browser's processes, or this process's stream-reading thread), the client's as a share of the run's. On a
machine whose cores the run keeps busy, that share is what the page can take from it at most.
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


def one_run(way: str, client: str, folder: str, inputs: list[str], args: argparse.Namespace) -> dict[str, float]:
    """The run's seconds per iteration, its process's CPU seconds and its client's."""
    network, content, style = inputs
    log = os.path.join(folder, f"{way}.jsonl")
    cmd = [sys.executable, os.path.join(ROOT, "stylize_cli.py"), "--content", content, "--styles", style,
           "--output", os.path.join(folder, "out.png"), "--network", network, "--iterations", str(args.iterations),
           "--overwrite", "--progress", "never", "--log", log]  # fmt: skip
    if way != "off":
        cmd += ["--web", "127.0.0.1:0", "--web-linger", "0"]
    with Watching(way, client, folder) as watching:  # the browser starts before the run, not during it
        before = watching.cpu()
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
        if way != "off":
            watching.show(next((m.group(1) for m in map(URL.search, proc.stderr) if m), ""))
        rest = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        client_cpu = watching.cpu() - before  # before the browser is closed (its processes gone)
        if proc.returncode != 0:
            raise SystemExit(f"web_overhead: the run failed: {rest.strip().splitlines()[-1:]}")
    seconds = seconds_per_iteration(log, args.skip)
    return {"seconds": seconds, "run_cpu": usage.ru_utime + usage.ru_stime, "client_cpu": client_cpu}


def cpu_ticks(pid: int) -> int:
    """utime + stime + cutime + cstime of a process (its own and its reaped children's), in clock ticks."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15])


def cpu_seconds(pids: list[int]) -> float:
    """The CPU seconds of these processes (cpu_ticks), those gone meanwhile left out."""
    total = 0
    for pid in pids:
        try:
            total += cpu_ticks(pid)
        except OSError:
            continue
    return total / os.sysconf("SC_CLK_TCK")


def descendants(root: int) -> list[int]:
    """The processes below ``root`` (from /proc: each one's parent), without recursion."""
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", encoding="ascii") as f:
                    parents[int(name)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        children = [c for c, p in parents.items() if p == pid]
        found += children
        todo += children
    return found


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

    def cpu(self) -> float:
        """CPU seconds the client has used so far: the browser's processes (every process below this one but the
        run, which is not started yet or already reaped when this is called), or this process's threads."""
        if self.way != "page":
            return 0.0
        if self.browser is None:
            return time.process_time()
        return cpu_seconds(descendants(os.getpid()))

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
    results: dict[str, list[dict[str, float]]] = {way: [] for way in WAYS}
    with tempfile.TemporaryDirectory() as folder:
        inputs = write_inputs(folder, args.size)
        for k in range(args.repeats):
            order = WAYS[k % 3 :] + WAYS[: k % 3]
            for way in order:
                results[way].append(one_run(way, args.client, folder, inputs, args))
                got = results[way][-1]
                print(f"round {k + 1} {way}: {got['seconds']:.4f} s per iteration, run {got['run_cpu']:.1f} CPU s, "
                      f"client {got['client_cpu']:.1f} CPU s", flush=True)  # fmt: skip
    report(results, args)


def report(results: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> None:
    seconds = {way: [r["seconds"] for r in runs] for way, runs in results.items()}
    base = statistics.median(seconds["off"])
    window = f"iterations {args.skip}..{args.iterations} of each run"
    print(f"\n{args.size}x{args.size}, {window}, {args.repeats} runs each, client {args.client}")
    for way in WAYS:
        values = seconds[way]
        median = statistics.median(values)
        paired = statistics.median(v / off for v, off in zip(values, seconds["off"]))
        print(f"{way:5s} median {median:.4f} s (min {min(values):.4f}, max {max(values):.4f}), "
              f"{median / base:.4f}x off ({100 * (median / base - 1):+.2f}%); "
              f"paired by round {paired:.4f}x ({100 * (paired - 1):+.2f}%)")  # fmt: skip
    page = results["page"]
    run_cpu = statistics.median(r["run_cpu"] for r in page)
    client_cpu = statistics.median(r["client_cpu"] for r in page)
    print(
        f"page: the run's process {run_cpu:.1f} CPU s (median), the client's {client_cpu:.2f} CPU s "
        f"({100 * client_cpu / run_cpu:.2f}% of the run's)"
    )


if __name__ == "__main__":
    main()
