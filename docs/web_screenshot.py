"""Draw docs/web.png, the README's picture of the run's page: a real run, the real page, headless Chromium.

    python docs/web_screenshot.py [docs/web.png]

The run paints examples/content.jpg (starting from it) in the manner of examples/style.jpg with a VGG-19 of
random weights and a quarter of the real channels (tests/synthetic_vgg.py; the real weights cannot be fetched
here), so the picture shows the page, not what the real network paints. After 150 iterations "save now" is
pressed, the page is taken, and "stop" ends the run. Needs Chromium and Playwright, as the browser tests do.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from browser import open_browser  # noqa: E402
from synthetic_vgg import write_vgg19_mat  # noqa: E402
from web_run import WebRun  # noqa: E402

from vgg.net.layers import BLOCK_CHANNELS  # noqa: E402

MAX_BYTES = 300_000


def until(condition, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("web_screenshot: the page never got there")
        time.sleep(0.1)


def shoot(folder: str, target: str) -> None:
    network = os.path.join(folder, "vgg.mat")
    write_vgg19_mat(network, "new", channels=tuple(max(1, c // 4) for c in BLOCK_CHANNELS), seed=0)
    content = os.path.join("examples", "content.jpg")  # the run's working directory is the checkout's root
    argv = ["--content", content, "--initial", content, "--styles", os.path.join("examples", "style.jpg"),
            "--output", os.path.join(folder, "out.png"), "--network", network, "--iterations", "1000",
            "--checkpoint-output", os.path.join(folder, "out%04d.png"), "--checkpoint-iterations", "100"]  # fmt: skip
    with open_browser(os.path.join(folder, "profile"), width=1280, height=760) as browser:
        run = WebRun(argv)
        try:
            page = browser.new_page()
            page.goto(run.url)
            until(lambda: int(page.get_attribute("#chart", "data-points")) > 150)
            page.click("#save")
            until(lambda: "saved the best" in page.inner_text("#notes"))
            time.sleep(1)  # the next image and chart drawn
            png = page.screenshot()
            page.click("#stop")
            run.wait()
        finally:
            run.kill()
    save_small(png, target)


def save_small(png: bytes, target: str) -> None:
    """The screenshot as a PNG under MAX_BYTES: as it is if it fits, else with 256 colours."""
    img = Image.open(io.BytesIO(png)).convert("RGB")
    img.save(target, optimize=True)
    if os.path.getsize(target) > MAX_BYTES:
        img.quantize(256, dither=Image.Dither.FLOYDSTEINBERG).save(target, optimize=True)
    print(f"{target}: {img.size[0]}x{img.size[1]}, {os.path.getsize(target)} bytes")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        shoot(tmp, sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "docs", "web.png"))
