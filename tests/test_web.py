"""The run's page without a browser: the token, the Host check, what can be fetched, the actions, and that no
page, however slow, makes the loop wait (vgg/web)."""

from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pytest
from web_run import request

import minigrad as mg
from vgg import Run, random_vgg19
from vgg.report.listeners import broadcast
from vgg.style.loop import End, IterationDone
from vgg.web import board as board_module
from vgg.web.address import host_allowed, parse_address
from vgg.web.board import RING, Board
from vgg.web.frames import FRAME_INTERVAL, MAX_FRAME_SIDE, Frames, encode
from vgg.web.listener import WebListener, run_inputs
from vgg.web.server import Handler, PageServer


@pytest.fixture
def server():
    server = PageServer("127.0.0.1", 0)
    server.start()
    yield server
    server.close()


def get(server, path, method="GET", headers=None, token=None):
    token = server.token if token is None else token
    return request(f"127.0.0.1:{server.port}", method, f"/{token}/{path}", headers)


def test_the_page_is_served_with_the_token_only(server):
    assert get(server, "")[0] == 200 and b"app.js" in get(server, "")[1]
    assert get(server, "app.js")[0] == 200 and get(server, "style.css")[0] == 200
    host = f"127.0.0.1:{server.port}"
    assert request(host, "GET", "/")[0] == 404
    assert request(host, "GET", "/app.js")[0] == 404
    assert get(server, "", token=server.token[:-1] + ("A" if server.token[-1] != "A" else "B"))[0] == 404
    assert get(server, "events", token="")[0] == 404
    assert get(server, "stop", "POST", token="x")[0] == 404 and not server.board.stop_wanted


@pytest.mark.parametrize("host", ["evil.example:{port}", "evil.example", "127.0.0.1:1", "127.0.0.2:{port}", ""])
def test_a_foreign_host_header_is_refused_even_with_the_token(server, host):
    code, _ = get(server, "", headers={"Host": host.format(port=server.port)})
    assert code == 403
    assert get(server, "stop", "POST", headers={"Host": host.format(port=server.port)})[0] == 403
    assert not server.board.stop_wanted


def test_no_host_header_is_refused(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(f"GET /{server.token}/ HTTP/1.0\r\n\r\n".encode())
        assert s.recv(100).startswith(b"HTTP/1.0 403")


def test_localhost_is_its_own_name(server):
    assert get(server, "", headers={"Host": f"localhost:{server.port}"})[0] == 200


@pytest.mark.parametrize(
    "path", ["../setup.cfg", "static/index.html", "index.html", "image/../../setup.cfg", "image/nothing.jpg",
             "image/best.jpg", "%2e%2e/setup.cfg", "app.js/../../README.md", "events/x"],
)  # fmt: skip
def test_no_file_but_the_page_and_the_runs_own_images(server, path):
    assert get(server, path)[0] == 404


def test_actions_need_post_and_a_page_of_this_server(server):
    stopped = []
    server.board.set_stopper(lambda: stopped.append(True))
    assert get(server, "stop")[0] == 405 and get(server, "save")[0] == 405
    origin = {"Origin": "http://evil.example"}
    assert get(server, "stop", "POST", headers=origin)[0] == 403 and not stopped
    assert get(server, "stop", "POST", headers={"Origin": f"http://127.0.0.1:{server.port}"})[0] == 202
    assert stopped == [True] and server.board.stop_wanted
    assert get(server, "stop", "POST")[0] == 202 and stopped == [True]  # once only
    assert b"nothing to save" in get(server, "save", "POST")[1] and not server.board.save_wanted


def test_save_is_asked_of_the_loop(server):
    server.board.set_status("running")
    assert get(server, "save", "POST")[0] == 202
    assert server.board.take_save() and not server.board.take_save()


def test_the_runs_images_are_served_by_name(server):
    server.frames.fixed("input-0", np.full((40, 50, 3), 100.0), thumbnail=True)
    code, body = get(server, "image/input-0.jpg")
    assert code == 200 and body[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize(
    "text, expected",
    [("8080", ("127.0.0.1", 8080)), ("0", ("127.0.0.1", 0)), ("0.0.0.0:80", ("0.0.0.0", 80)),
     ("[::1]:0", ("::1", 0)), ("myhost:65535", ("myhost", 65535))],
)  # fmt: skip
def test_the_address_is_loopback_unless_written_out(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["", "x", "65536", "-1", ":80", "::1:80", "[x]:80", "host:", "1.2.3.4:８０"])
def test_a_bad_address_is_refused(text):
    with pytest.raises(ValueError):
        parse_address(text)


@pytest.mark.parametrize(
    "header, bound, ok",
    [("127.0.0.1:8000", "127.0.0.1", True), ("localhost:8000", "127.0.0.1", True), ("LOCALHOST:8000", "::1", True),
     ("[::1]:8000", "::1", True), ("127.0.0.1:8001", "127.0.0.1", False), ("rebound.example:8000", "127.0.0.1", False),
     ("10.1.2.3:8000", "127.0.0.1", False), ("10.1.2.3:8000", "0.0.0.0", True), ("box:8000", "0.0.0.0", True),
     ("rebound.example:8000", "0.0.0.0", False), ("localhost:8000", "10.1.2.3", False),
     ("10.1.2.3:8000", "10.1.2.3", True), (None, "127.0.0.1", False), ("127.0.0.1:80x", "127.0.0.1", False)],
)  # fmt: skip
def test_the_host_header_must_name_this_server(header, bound, ok):
    assert host_allowed(header, bound, 8000, names={"box"}) is ok


def test_a_stream_that_falls_behind_gets_a_snapshot_and_the_ring_stays_bounded():
    board = Board()
    seq, messages = board.wait(0, 0)
    assert messages == []
    for k in range(RING + 5):
        board.publish("losses", {"i": k, "stage": 0, "losses": {"total": 1.0}})
    assert len(board._ring) == RING
    assert board.wait(0, 0) == (board.seq, None)  # five were dropped: a snapshot instead
    seq, messages = board.wait(board.seq - 3, 0)
    assert [m[2]["i"] for m in messages] == [RING + 2, RING + 3, RING + 4]


def test_the_points_of_a_snapshot_are_bounded(monkeypatch):
    monkeypatch.setattr(board_module, "MAX_POINTS", 10)
    board = Board()
    for k in range(100):
        board.publish("losses", {"i": k, "stage": 0, "losses": {"total": 1.0}})
    points = [p["i"] for p in board.snapshot()["points"]]
    assert len(points) <= 10 and points[-1] == 99 and points == sorted(points)


def test_the_live_image_is_encoded_only_when_asked_and_at_most_every_interval():
    now = [0.0]
    calls = []
    frames = Frames(clock=lambda: now[0])

    def best():
        calls.append(1)
        return np.full((8, 8, 3), 10.0 * len(calls))

    frames.live("best", best)
    assert not calls  # nothing encoded until a page asks
    assert frames.jpeg("best", 1)[1] == 1 and len(calls) == 1
    assert frames.jpeg("best", 1)[1] == 1 and len(calls) == 1  # the same version: the same bytes
    assert frames.jpeg("best", 5)[1] == 1 and len(calls) == 1  # too soon: the last one again
    now[0] += FRAME_INTERVAL
    assert frames.jpeg("best", 5)[1] == 5 and len(calls) == 2
    assert frames.jpeg("input-0") is None


def _publish(board: Board, count: int, done: threading.Event) -> None:
    """The loop's side: ``count`` messages of 20 kB, a millisecond apart (the stream writes many times meanwhile)."""
    big = {"text": "x" * 20_000}
    for _ in range(count):
        board.publish("note", big)
        time.sleep(0.001)
    done.set()


def test_a_page_that_never_reads_never_makes_the_loop_wait(server, monkeypatch):
    """A client opens the event stream and reads nothing: its stream's writes block (for good: the socket
    timeout is made longer than the test), yet the loop's publishing of far more than any socket buffer holds
    ends, and another page is still served."""
    monkeypatch.setattr(Handler, "timeout", 3600)
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as stuck:
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.sendall(f"GET /{server.token}/events HTTP/1.0\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode())
        done = threading.Event()
        loop = threading.Thread(target=_publish, args=(server.board, 3000, done), daemon=True)
        loop.start()
        assert done.wait(timeout=60), "publishing waited on a page that does not read"
        assert get(server, "")[0] == 200


def test_the_listener_feeds_every_term_the_progress_and_the_final_image():
    """A run with an extra loss term (as a video's): every read-back's terms reach the board, the progress counts
    iterations with the time left from the last ones, and the page's image becomes the End image."""
    net = random_vgg19(seed=0, channel_scale=1 / 16)
    rng = np.random.default_rng(1)
    content, style = rng.uniform(0, 255, (12, 16, 3)).astype(np.float32), rng.uniform(0, 255, (12, 16, 3))
    run = Run(net, content, [style.astype(np.float32)], iterations=4, seed=1,
              extra={"pixel": lambda image: 0.5 * mg.l2_loss(image)})  # fmt: skip
    board, frames, now, left = Board(), Frames(), [0.0], {}
    run.best_image = lambda: np.zeros((12, 16, 3))  # the live image; the page must end on End's own
    inputs = run_inputs(run, "c.png", ["s.png"], None)
    listener = WebListener(board, frames, run, {"iterations": 4, "initial": None}, inputs, clock=lambda: now[0])
    for event in broadcast(run.events(), [listener]):
        now[0] += 2.0  # two seconds between events: an iteration is 6 s (started, losses read, done)
        if isinstance(event, End):
            final = event.image
        elif isinstance(event, IterationDone):
            left[event.i] = board.progress["left"]
    snapshot = board.snapshot()
    assert [p["i"] for p in snapshot["points"]] == [0, 1, 2, 3, 4]
    assert all(list(p["losses"]) == ["content", "style", "tv", "pixel", "total"] for p in snapshot["points"])
    assert snapshot["progress"] == {"i": 4, "n": 4, "stage": 0, "stages": 1, "elapsed": 24.0, "left": 0.0}
    assert left == {0: 18.0, 1: 12.0, 2: 6.0, 3: 0.0}  # 6 s an iteration, times those left
    assert snapshot["run"]["settings"] == {"iterations": "4"} and snapshot["status"]["state"] == "finishing"
    assert [i["image"] for i in snapshot["run"]["inputs"]] == ["input-0", "input-1"]
    assert frames.jpeg("best", snapshot["frame"])[0] == encode(final, MAX_FRAME_SIDE)
