"""Does a page watching the run cost it time? One run, its page opened and closed in turns, iteration by iteration.

    .venv/bin/python -m benchmarks.web_alternate [--size 256] [--window 12] [--pairs 16] [--client chromium]

web_overhead compares separate runs, whose seconds per iteration spread by several percent from one process to
the next (where each lands in memory and on the cores): more than the cost it looks for. This takes that spread
out: one stylize_cli.py run with --web (full-size VGG-19 of random weights, SIZE x SIZE images, --log), and
headless Chromium (the system's) showing its page for WINDOW iterations, then no browser at all for WINDOW
iterations, PAIRS times (each pair in the other order). The client is the browser alone as a user would have it
(``chromium``: started on the page's address, SETTLE seconds given to load it), or the browser driven by
Playwright as the tests drive it (``playwright``: measured costlier, likely its driver process following the
page's network traffic, which a user's browser does not have). The browser's start and close are left out: a
"page" window counts from the first iteration that begins after the page has loaded to the last that ends before
the browser closes, a "none" window likewise between the browser gone and the next one starting. Each window's
seconds per iteration come from the run's log (the read-back after each iteration).

Printed: each window; the median of each kind; and each page window against the mean of the none windows on
either side of it (the pairing takes out the run's slow drift), their median and mean with its standard error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator

from benchmarks import common
from benchmarks.bench_cli import write_inputs
from benchmarks.web_overhead import ROOT, URL

POLL = 0.1  # seconds between reads of the run's log
SETTLE = 3.0  # seconds a plain browser is given to load the page before its window starts


class Log:
    """The run's --log, read as it grows: the seconds of each iteration's read-back."""

    def __init__(self, path: str) -> None:
        self.path, self.offset, self.times = path, 0, {}

    def last(self) -> int:
        """The last iteration read back so far (-1 before the first)."""
        if os.path.exists(self.path):
            with open(self.path, encoding="utf-8") as f:
                f.seek(self.offset)
                for line in f:
                    if not line.endswith("\n"):
                        break  # half written: read it again next time
                    self.offset += len(line.encode("utf-8"))
                    record = json.loads(line)
                    if record.get("event") == "losses":
                        self.times[record["iteration"]] = record["seconds"]
        return max(self.times, default=-1)

    def wait_past(self, iteration: int, proc: subprocess.Popen) -> int:
        """Wait until an iteration after ``iteration`` is read back; the last one read back."""
        while (last := self.last()) <= iteration:
            if proc.poll() is not None:
                raise SystemExit(f"web_alternate: the run ended early (exit {proc.returncode})")
            time.sleep(POLL)
        return last


def window(log: Log, proc: subprocess.Popen, length: int) -> tuple[int, int]:
    """(first, last): the read-backs bounding ``length`` whole iterations that begin from now on."""
    first = log.wait_past(log.last(), proc)  # the iteration under way when this was called has ended
    return first, log.wait_past(first + length - 1, proc)


@contextlib.contextmanager
def browser(client: str, url: str, folder: str) -> Iterator[None]:
    """The page open in headless Chromium while inside (module docstring: ``client``)."""
    from browser import ARGS, chromium, open_browser

    profile = tempfile.mkdtemp(dir=folder)
    if client == "playwright":
        with open_browser(profile) as context:
            context.new_page().goto(url)
            yield
        return
    proc = subprocess.Popen([chromium(), *ARGS, f"--user-data-dir={profile}", url], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        time.sleep(SETTLE)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--window", type=int, default=12, help="iterations per window")
    parser.add_argument("--pairs", type=int, default=16, help="windows of each kind")
    parser.add_argument("--client", choices=("chromium", "playwright"), default="chromium")
    args = parser.parse_args()
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from browser import missing

    if missing():
        raise SystemExit(f"web_alternate: {missing()}")
    common.reexec_without_blas_overrides()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # the run ends on SIGINT even if this was started "&"
    windows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        network, content, style = write_inputs(folder, args.size)
        log = Log(os.path.join(folder, "run.jsonl"))
        cmd = [sys.executable, os.path.join(ROOT, "stylize_cli.py"), "--content", content, "--styles", style,
               "--output", os.path.join(folder, "out.png"), "--network", network, "--iterations", "100000",
               "--print-iterations", "1", "--progress", "never", "--log", log.path, "--web", "127.0.0.1:0",
               "--web-linger", "0"]  # fmt: skip
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
        url = next((m.group(1) for m in map(URL.search, proc.stderr) if m), "")
        # the run prints its losses on stderr: read them on, or its pipe fills and the run blocks
        threading.Thread(target=proc.stderr.read, daemon=True).start()
        log.wait_past(2 * args.window, proc)  # past the start: the network loaded, the first iterations' caches
        try:
            for k in range(args.pairs):
                for kind in ("page", "none") if k % 2 == 0 else ("none", "page"):
                    if kind == "page":
                        with browser(args.client, url, folder):
                            first, last = window(log, proc, args.window)
                    else:
                        first, last = window(log, proc, args.window)
                    seconds = (log.times[last] - log.times[first]) / (last - first)
                    windows.append((kind, seconds))
                    print(f"{kind:4s} iterations {first}..{last}: {seconds:.4f} s per iteration", flush=True)
        finally:
            proc.send_signal(signal.SIGINT)  # ends as Ctrl-C does
            proc.wait(timeout=120)
    report(windows, args)


def report(windows: list[tuple[str, float]], args: argparse.Namespace) -> None:
    page = [s for kind, s in windows if kind == "page"]
    none = [s for kind, s in windows if kind == "none"]
    ratios = []
    for k, (kind, seconds) in enumerate(windows):
        if kind == "page":
            beside = [windows[j][1] for j in (k - 1, k + 1) if 0 <= j < len(windows) and windows[j][0] == "none"]
            ratios.append(seconds / statistics.mean(beside))
    mean = statistics.mean(ratios)
    error = statistics.stdev(ratios) / len(ratios) ** 0.5 if len(ratios) > 1 else float("nan")
    print(f"\n{args.size}x{args.size}, one run, {args.pairs} windows of {args.window} iterations each way, "
          f"client {args.client}")  # fmt: skip
    print(f"page open: median {statistics.median(page):.4f} s per iteration; no browser: {statistics.median(none):.4f}")
    print(f"page / the none windows beside it: median {statistics.median(ratios):.4f} "
          f"({100 * (statistics.median(ratios) - 1):+.2f}%), mean {mean:.4f} ({100 * (mean - 1):+.2f}% "
          f"+- {100 * error:.2f}% standard error)")  # fmt: skip


if __name__ == "__main__":
    main()
