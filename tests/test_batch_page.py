"""The batch's page (vgg.cli.batch_page) fed by the batch's progress records, without a server or a browser: the
items' states and notes, the status line, and what "save now" answers when the items run on workers."""

from __future__ import annotations

from types import SimpleNamespace

from vgg.batch.progress import DONE, FAILED, PROGRESS, STARTED, BatchProgress
from vgg.cli.batch import SKIP
from vgg.cli.batch_page import ON_WORKERS, BatchPage, status_line
from vgg.web.board import Board


def _page(distributed: bool) -> BatchPage:
    items = [
        SimpleNamespace(name=n, plan=plan, note=note, invocation=SimpleNamespace(output=f"out/{n}"))
        for n, plan, note in (("a.png", "run", ""), ("b.png", SKIP, "out/b.png is there"), ("c.png", "run", ""))
    ]
    batch = SimpleNamespace(items=items, options=SimpleNamespace(distributed=distributed))
    return BatchPage(SimpleNamespace(board=Board(), frames=None), batch)


def _progress(what, item, done=0, failed=0, running=(), left=None, detail=""):
    return BatchProgress(what, item, 3, done, 1, failed, running, 12.0, left, detail)


def _items(board: Board) -> list[tuple[str, str, str]]:
    return [(i["name"], i["state"], i["note"]) for i in board.snapshot()["items"]]


def test_the_items_are_listed_the_skipped_one_marked_and_each_follows_the_batch():
    page = _page(distributed=False)
    assert _items(page.board) == [("a.png", "waiting", ""), ("b.png", "skipped", "out/b.png is there"),
                                  ("c.png", "waiting", "")]  # fmt: skip
    page.progress(_progress(STARTED, "a.png", running=(("a.png", 0.0),), detail="local"))
    page.progress(_progress(PROGRESS, "a.png", running=(("a.png", 0.5),), left=30))
    page.progress(_progress(DONE, "a.png", done=1, left=40))
    page.progress(_progress(FAILED, "c.png", done=1, failed=1, detail="c.png: not an image"))
    assert _items(page.board) == [("a.png", "done", "-> out/a.png"), ("b.png", "skipped", "out/b.png is there"),
                                  ("c.png", "failed", "c.png: not an image")]  # fmt: skip
    assert page.board.snapshot()["status"]["message"] == "1 of 3 done, 1 skipped, 1 failed"


def test_the_status_line_counts_and_says_the_time_left():
    p = _progress(PROGRESS, "a.png", done=2, running=(("a.png", 0.5), ("c.png", 0.1)), left=240)
    assert status_line(p) == "2 of 3 done, 1 skipped, 2 running; about 4 min left"
    assert status_line(_progress(PROGRESS, "a.png", left=30)) == "0 of 3 done, 1 skipped; about 30 s left"


def test_save_now_on_workers_says_why_it_saves_nothing_and_here_it_saves():
    for distributed, answer in ((True, ON_WORKERS), (False, "saving the best image so far at the next iteration")):
        page = _page(distributed)
        page.progress(_progress(STARTED, "a.png", running=(("a.png", 0.0),)))
        assert page.board.request_save() == answer
        assert page.board.take_save() is (not distributed)


def test_a_stopping_batch_says_so_from_then_on():
    page = _page(distributed=False)
    page.stop()
    page.progress(_progress(DONE, "a.png", done=1))
    assert page.board.snapshot()["status"]["state"] == "stopping"
