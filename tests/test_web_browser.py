"""The run's page in a real browser (headless Chromium, Playwright): the image changes, the chart gains points,
"save now" writes a file, "stop" ends the run with the best image in --output and exit status 130.

Skipped, with the reason, where Chromium or Playwright is missing; under CI (CI set) that is a failure instead:
.ci/run installs both."""

from __future__ import annotations

import os
import time
import urllib.parse

import pytest
from browser import missing, open_browser
from cli_inputs import cli_argv, write_cli_inputs
from PIL import Image
from web_run import WebRun

from vgg.web.server import PageServer

REASON = missing()
if REASON and os.environ.get("CI"):
    raise RuntimeError(f"the browser tests must run under CI: {REASON}")
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")
WAIT_SECONDS = 120


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_cli_inputs(tmp_path_factory.mktemp("page"), "new")


def until(condition, what: str) -> None:
    """Poll from here: the page's CSP forbids the string evaluation that page.wait_for_function uses."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"the page never showed {what}")
        time.sleep(0.05)


def state(page) -> str:
    return page.get_attribute("#status", "data-state")


def version(page) -> int:
    return int(page.get_attribute("#frame", "data-version"))


def points(page) -> int:
    return int(page.get_attribute("#chart", "data-points"))


def watch_image_and_chart(page) -> None:
    """The image is shown and changes (another version, other pixels); the chart gains points."""
    until(lambda: version(page) > 0, "an image")
    first, shot = version(page), page.locator("#frame").screenshot()
    count = points(page)
    until(lambda: version(page) > first and page.locator("#frame").screenshot() != shot, "another image")
    until(lambda: points(page) > count + 2, "more points")
    assert page.locator("#legend span").all_inner_texts() == ["content", "style", "tv", "total"]


def test_watch_save_and_stop_in_a_browser(files, tmp_path):
    out = tmp_path / "o.png"
    run = WebRun(cli_argv(files, out, 10**6, "--web-linger", 30))
    origin = urllib.parse.urlsplit(run.url)
    requested, problems = [], []
    try:
        with open_browser(str(tmp_path / "profile")) as browser:
            page = browser.new_page()
            page.on("request", lambda r: requested.append((time.monotonic(), r.url)))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(run.url)
            watch_image_and_chart(page)
            assert page.inner_text("#iteration").startswith("iteration ")
            assert not page.is_visible("#items-box")  # a single run has no items
            page.click("#save")
            until(lambda: "saved the best" in page.inner_text("#notes"), "the save")
            assert (tmp_path / "o.saved-1.png").exists()
            if os.environ.get("WEB_SCREENSHOT"):
                page.screenshot(path=os.environ["WEB_SCREENSHOT"])
            running = list(requested)
            page.click("#stop")
            until(lambda: state(page) == "ended", "the end")
            assert "stopped from the page" in page.inner_text("#status")
            assert page.is_disabled("#stop") and page.is_disabled("#save")
            assert run.wait() == 130, run.stderr()
    finally:
        run.kill()
    with Image.open(out) as img:
        assert img.size == (20, 16)
    assert f"stylize: error: interrupted; saved the best image so far to {out}\n" in run.lines
    ours = (f"{origin.scheme}://{origin.netloc}/", "data:,")
    foreign = [u for _, u in requested if not u.startswith(ours)]
    assert not foreign and not problems, (foreign, problems)
    # while the run goes on, a new best image at most every IMAGE_INTERVAL (4 s; app.js), though the run has a new
    # one every few milliseconds
    asked = [t for t, u in running if "/image/best.jpg" in u]
    assert len(asked) >= 2 and min(b - a for a, b in zip(asked, asked[1:])) > 3.8, asked


def test_the_page_shows_the_end_of_a_finished_run(files, tmp_path):
    """The run ends by itself: the page says so and shows the final image; it then closes its stream, so the
    server does not wait out its --web-linger (an hour: the run's exit would time out)."""
    out = tmp_path / "o.png"
    with open_browser(str(tmp_path / "profile")) as browser:
        run = WebRun(cli_argv(files, out, 1000, "--web-linger", 3600))
        try:
            page = browser.new_page()
            page.goto(run.url)
            until(lambda: state(page) == "ended", "the end")
            assert "finished; the result is in" in page.inner_text("#status")
            until(lambda: page.inner_text("#caption") == "the final image", "the final image")
            assert run.wait(timeout=120) == 0, run.stderr()
            assert "image/best.jpg" in page.get_attribute("#frame", "src")
        finally:
            run.kill()
    assert out.exists()


def test_the_page_lists_the_items_of_a_batch(tmp_path):
    """What a batch or a video front end feeds (vgg/web/__init__.py): the items, done, running and waiting."""
    server = PageServer("127.0.0.1", 0)
    server.start()
    try:
        board = server.board
        board.set_items(["a.jpg", "b.jpg", "c.jpg"])
        board.item(0, "done", "a-out.jpg")
        board.item(1, "running")
        with open_browser(str(tmp_path / "profile")) as browser:
            page = browser.new_page()
            page.goto(server.url)
            until(lambda: page.locator("#items li").count() == 3, "the items")
            assert page.locator("#items li").all_inner_texts() == [
                "a.jpg: done (a-out.jpg)", "b.jpg: running", "c.jpg: waiting"
            ]  # fmt: skip
            board.item(1, "failed", "out of memory")
            until(lambda: page.get_attribute("#items li:nth-child(2)", "data-state") == "failed", "the failure")
            assert page.is_visible("#items-box")
    finally:
        server.close()
