"""What the page costs in the browser: CPU seconds of headless Chromium's processes showing it, per part of the page.

    .venv/bin/python -m benchmarks.web_page_cpu [--size 256] [--seconds 20] [--passes 2]

One long run with --web (full-size random VGG-19, SIZE x SIZE images); one headless Chromium (the system's,
through Playwright) opens the page again for each variant of its script, served in place of the package's
(``as is``, and without the image updates, the chart, the progress numbers, or all three), and the CPU seconds
of the browser's processes over SECONDS are printed, beside the run's own CPU seconds over the same time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time

from benchmarks.bench_cli import write_inputs
from benchmarks.web_overhead import ROOT, URL, cpu_seconds, descendants

STATIC = os.path.join(ROOT, "vgg", "web", "static")
OFF = {
    "image": "function wantFrame(version) {",
    "chart": "function drawChart() {",
    "progress": "function showProgress(p) {",
}


def variants() -> dict[str, str]:
    with open(os.path.join(STATIC, "app.js"), encoding="utf-8") as f:
        app = f.read()
    missing = [head for head in OFF.values() if head not in app]
    if missing:
        raise SystemExit(f"web_page_cpu: app.js has no {missing[0]!r} any more: update OFF")
    out = {"as is": app}
    for part, head in OFF.items():
        out[f"no {part}"] = app.replace(head, head + " return;")
    out["none of them"] = app
    for head in OFF.values():
        out["none of them"] = out["none of them"].replace(head, head + " return;")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--passes", type=int, default=2)
    args = p.parse_args()
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from browser import missing, open_browser

    if missing():
        raise SystemExit(f"web_page_cpu: {missing()}")
    with tempfile.TemporaryDirectory() as folder:
        network, content, style = write_inputs(folder, args.size)
        cmd = [sys.executable, os.path.join(ROOT, "stylize_cli.py"), "--content", content, "--styles", style,
               "--output", os.path.join(folder, "out.png"), "--network", network, "--iterations", "100000",
               "--progress", "never", "--web", "127.0.0.1:0", "--web-linger", "0"]  # fmt: skip
        run = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
        try:
            url = next(m.group(1) for m in map(URL.search, run.stderr) if m)
            threading.Thread(target=run.stderr.read, daemon=True).start()  # a full pipe would block the run
            browser = open_browser(os.path.join(folder, "profile"))
            context = browser.__enter__()
            try:
                time.sleep(15)  # the network loaded, the iterations going
                for _ in range(args.passes):
                    for name, script in variants().items():
                        page = context.new_page()
                        page.route("**/app.js", _serve(script))
                        page.goto(url)
                        time.sleep(4)
                        mine = [q for q in descendants(os.getpid()) if q != run.pid]
                        a, ra = cpu_seconds(mine), cpu_seconds([run.pid])
                        time.sleep(args.seconds)
                        b, rb = cpu_seconds(mine), cpu_seconds([run.pid])
                        print(f"{name:13s} browser {b - a:.2f} CPU s, the run {rb - ra:.1f} CPU s, "
                              f"in {args.seconds:g} s ({100 * (b - a) / (rb - ra):.2f}%)", flush=True)  # fmt: skip
                        page.close()
            finally:
                browser.__exit__(None, None, None)
        finally:
            run.kill()
            run.wait()


def _serve(script: str):
    return lambda route, request: route.fulfill(body=script, content_type="text/javascript")


if __name__ == "__main__":
    main()
