"""--web for a batch and for a video, from the command line, read as a page reads it (the event stream): the
items listed and marked as they go (a skipped one, the one running, the done ones), the live run of an item run
in this process, "save now" and "stop" in a batch, and for a video its frames as the items and the end it says."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time

import pytest
from cli_inputs import write_cli_inputs
from PIL import Image
from web_run import WebRun

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and processes")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_cli_inputs(tmp_path_factory.mktemp("web_many"), "new")


class Stream:
    """The page's event stream, read in a thread: every message as (kind, data), in order."""

    def __init__(self, run: WebRun) -> None:
        host, port = run.host.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=120)
        self.sock.sendall(f"GET /{run.token}/events HTTP/1.0\r\nHost: {run.host}\r\n\r\n".encode())
        self.messages: list[tuple[str, dict]] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        buffer = b""
        while chunk := self.sock.recv(65536):
            buffer += chunk
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                lines = dict(line.split(": ", 1) for line in block.decode().splitlines() if ": " in line)
                if "event" in lines:
                    self.messages.append((lines["event"], json.loads(lines["data"])))
        self.sock.close()

    def of(self, kind: str) -> list[dict]:
        """The messages of ``kind``, also those a snapshot (sent to a page that fell behind) holds."""
        out = []
        for k, data in list(self.messages):
            if k == "snapshot":
                if kind == "losses":
                    out += data["points"]
                elif kind == "items":
                    out.append({"items": data["items"]})
                elif data.get(kind) is not None:
                    out.append(data[kind])
            elif k == kind:
                out.append(data)
        return out

    def items(self) -> list[tuple[str, str]]:
        lists = self.of("items")
        return [(i["name"], i["state"]) for i in lists[-1]["items"]] if lists else []

    def wait_for(self, condition, what: str, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} never happened: {self.items()}, {self.of('status')[-1:]}")
            time.sleep(0.05)

    def close(self) -> None:
        self.sock.close()


def _batch(files, tmp_path, n: int) -> tuple[list[str], str]:
    folder = tmp_path / "in"
    folder.mkdir()
    for k in range(n):
        shutil.copy(files / "content.png", folder / f"p{k}.png")
    out = tmp_path / "out"
    out.mkdir()
    return [str(folder)], str(out)


def _argv(files, contents, out, iterations, *extra):
    base = ["--content", *contents, "--styles", files / "style.png", "--output", out, "--network", files / "vgg.mat"]
    return [str(a) for a in [*base, "--iterations", iterations, *extra]]


def test_a_batch_page_lists_the_items_and_shows_each_run_in_this_process(files, tmp_path):
    contents, out = _batch(files, tmp_path, 3)
    Image.open(files / "content.png").save(os.path.join(out, "p0.png"))  # done before: skipped
    run = WebRun(_argv(files, contents, out, 20, "--web-linger", 60))
    try:
        stream = Stream(run)
        assert run.wait() == 0, run.stderr()  # the stream closes when the run has ended: no 60 s linger
        stream.thread.join(30)
    finally:
        run.kill()
    assert stream.items() == [("p0", "skipped"), ("p1", "done"), ("p2", "done")]
    assert any(dict(i)["p1"] == "running" for i in map(dict, _item_states(stream)) if "p1" in dict(i))
    assert {r["item"] for r in stream.of("run")} >= {1, 2}  # each item's run on the page, live
    assert any(p["i"] == 20 for p in stream.of("progress"))
    ended = stream.of("status")[-1]
    assert ended["state"] == "ended" and "3 items: 2 done, 1 skipped" in ended["message"], ended
    notes = [i["note"] for i in stream.of("items")[-1]["items"]]
    assert notes[1] == f"-> {os.path.join(out, 'p1.png')}"


def _item_states(stream: Stream) -> list[list[tuple[str, str]]]:
    return [[(i["name"], i["state"]) for i in m["items"]] for m in stream.of("items")]


def test_save_now_and_stop_in_a_batch(files, tmp_path):
    contents, out = _batch(files, tmp_path, 2)
    run = WebRun(_argv(files, contents, out, 10**6))
    try:
        stream = Stream(run)
        stream.wait_for(lambda: ("p0", "running") in stream.items() and stream.of("progress"), "p0 running")
        assert run.request("POST", "save")[0] == 202
        saved = os.path.join(out, "p0.saved-1.png")
        stream.wait_for(lambda: os.path.exists(saved), "the save")
        code, body = run.request("POST", "stop")
        assert code == 202 and b"stopping" in body
        assert run.wait() == 130, run.stderr()
        stream.thread.join(30)
    finally:
        run.kill()
    assert stream.items() == [("p0", "interrupted"), ("p1", "waiting")]
    assert os.path.exists(os.path.join(out, "p0.png"))  # its best image so far, as after Ctrl-C
    assert not os.path.exists(os.path.join(out, "p1.png"))
    assert stream.of("status")[-1]["state"] == "ended"


def test_a_video_page_lists_its_frames_and_says_where_they_are_kept(files, tmp_path):
    pytest.importorskip("av", reason="the video extra (PyAV) is not installed")
    pytest.importorskip("cv2", reason="the video extra (opencv-python-headless) is not installed")
    from video_inputs import clip, write_clip

    content = write_clip(tmp_path / "in.mp4", clip(4))
    out = tmp_path / "out.mp4"
    extra = ["--frame-iterations", 300, "--flow-workers", 0, "--web-linger", 60]
    run = WebRun(_argv(files, [content], out, 3, *extra))
    try:
        stream = Stream(run)
        stream.wait_for(lambda: any(s == "running" for _, s in stream.items()), "a frame running")
        code, body = run.request("POST", "save")
        assert code == 202 and b"every finished frame is kept in" in body
        assert run.wait() == 0, run.stderr()
        stream.thread.join(30)
    finally:
        run.kill()
    assert stream.items() == [(f"frame {k}", "done") for k in range(1, 5)]
    shown = {r["item"] for r in stream.of("run")}  # the frames' runs on the page, live (a page that falls behind
    assert len(shown) >= 2 and 3 in shown, shown  # by a ring's worth of messages sees the one running now only)
    assert "temporal" in stream.of("losses")[-1]["losses"]
    ended = stream.of("status")[-1]
    assert ended == {"state": "ended", "message": f"finished; the video is in {out}"}


def test_stop_on_a_video_page_keeps_the_finished_frames(files, tmp_path):
    pytest.importorskip("av", reason="the video extra (PyAV) is not installed")
    pytest.importorskip("cv2", reason="the video extra (opencv-python-headless) is not installed")
    from video_inputs import clip, write_clip

    content = write_clip(tmp_path / "in.mp4", clip(4))
    out = tmp_path / "out.mp4"
    run = WebRun(_argv(files, [content], out, 2, "--frame-iterations", 10**6, "--flow-workers", 0))
    try:
        stream = Stream(run)
        stream.wait_for(lambda: ("frame 2", "running") in stream.items() and stream.of("progress"), "frame 2")
        assert run.request("POST", "stop")[0] == 202
        assert run.wait() == 130, run.stderr()
        stream.thread.join(30)
    finally:
        run.kill()
    assert stream.items()[0] == ("frame 1", "done")
    message = stream.of("status")[-1]["message"]
    assert message.startswith("stopped from the page; the finished frames are kept beside"), message
    assert "1 of 4 frames are finished" in run.stderr()
    assert not out.exists()
