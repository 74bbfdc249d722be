"""What the page of a run shows, held between the loop's thread and the server's threads.

The loop's thread only ever *publishes* (``publish``: a lock held for an append and a notify, never for I/O):
each message goes to a ring of the last ``RING`` messages and updates the snapshot a new page starts from.
A page's event stream reads the ring from its own position; one that fell behind by more than the ring
(a slow or stalled browser) is sent the snapshot again instead, so no page can make the loop wait or make the
memory grow. Messages are small dicts of plain values (the stream encodes them as JSON, in its own thread).

The kinds of message (each also a field of the snapshot, see ``snapshot()``):
- ``run``: a run starts: its iterations ``n``, ``scales``, ``settings``, ``inputs`` (name, file, image),
  ``item`` (its index in a batch or video, or None); the loss points and progress start again.
- ``losses``: ``i`` (steps taken), ``stage``, ``losses`` ({term: value}: whatever terms the run has).
- ``progress``: ``i`` (iterations done), ``n``, ``stage``, ``stages``, ``elapsed`` and ``left`` (seconds).
- ``frame``: ``version``, bumped when the best image may have changed (the image itself is fetched by the
  page, when it can show it: vgg.web.frames).
- ``items``: ``items``, the list of a batch or video (name, state: waiting, running, done, failed, interrupted
  or skipped, note).
- ``status``: ``state`` (starting, running, finishing, stopping, ended) and ``message``.
- ``note``: ``text``, a line for the page's log (a save, a failure).
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from typing import Any

RING = 256  # messages kept for the event streams; a stream further behind gets a snapshot
MAX_POINTS = 2000  # loss points a snapshot holds; beyond, every other older point is dropped
MAX_NOTES = 20
STATES = ("starting", "running", "finishing", "stopping", "ended")

Message = tuple[int, str, dict[str, Any]]


class Board:
    """The state of one watched run (or batch), and the control requests of its page."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._ring: collections.deque[Message] = collections.deque(maxlen=RING)
        self.seq = 0
        self.closed = False
        self.run: dict[str, Any] | None = None
        self.points: list[dict[str, Any]] = []
        self.progress: dict[str, Any] | None = None
        self.frame = 0
        self.items: list[dict[str, Any]] = []
        self.status: dict[str, Any] = {"state": "starting", "message": "loading the inputs and the network"}
        self.notes: collections.deque[str] = collections.deque(maxlen=MAX_NOTES)
        self.save_wanted = False
        self.save_elsewhere: str | None = None  # why "save now" has nothing to do (None: it saves)
        self.stop_wanted = False
        self._stopper: Callable[[], None] | None = None
        self.interrupts = False  # whether "stop" interrupts the main thread (else the listener raises)

    # ---- the loop's side: publish, never wait ------------------------------------------------------------

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Add a message (see the module docstring) and wake the streams."""
        with self._cond:
            self.seq += 1
            self._ring.append((self.seq, kind, data))
            self._apply(kind, data)
            self._cond.notify_all()

    def _apply(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "run":
            self.run, self.points, self.progress = data, [], None
        elif kind == "losses":
            self.points.append(data)
            if len(self.points) > MAX_POINTS:
                half = len(self.points) // 2
                self.points = self.points[:half:2] + self.points[half:]
        elif kind == "progress":
            self.progress = data
        elif kind == "frame":
            self.frame = data["version"]
        elif kind == "items":
            self.items = data["items"]
        elif kind == "status":
            self.status = data
        elif kind == "note":
            self.notes.append(data["text"])

    def set_status(self, state: str, message: str = "") -> None:
        self.publish("status", {"state": state, "message": message})

    def note(self, text: str) -> None:
        self.publish("note", {"text": text})

    def frame_changed(self) -> None:
        self.publish("frame", {"version": self.frame + 1})

    def set_items(self, names: list[str]) -> None:
        """A batch or a video: the names of its items, all waiting."""
        self.publish("items", {"items": [{"name": n, "state": "waiting", "note": ""} for n in names]})

    def item(self, k: int, state: str, note: str = "") -> None:
        """Item ``k`` (0-based) is running, done or failed; ``note``: its output, or why it failed."""
        with self._cond:
            items = [dict(item) for item in self.items]
        items[k].update(state=state, note=note)
        self.publish("items", {"items": items})

    def save_not_here(self, reason: str | None) -> None:
        """From now on "save now" answers ``reason`` and saves nothing (a video keeps each frame as it is
        finished; a batch on workers has no run in this process); None: it saves again."""
        with self._cond:
            self.save_elsewhere = reason

    def take_save(self) -> bool:
        """Whether the page asked to save since the last call (the flag is cleared)."""
        if not self.save_wanted:  # the common case, without the lock
            return False
        with self._cond:
            wanted, self.save_wanted = self.save_wanted, False
        return wanted

    # ---- the page's side --------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything a page starts from, with ``seq``: the messages after it follow."""
        with self._cond:
            return {
                "seq": self.seq, "run": self.run, "points": list(self.points), "progress": self.progress,
                "frame": self.frame, "items": list(self.items), "status": self.status, "notes": list(self.notes),
            }  # fmt: skip

    def wait(self, after: int, timeout: float) -> tuple[int, list[Message] | None]:
        """The messages after ``after`` (waiting up to ``timeout`` for one): (the last seq, the messages), or
        (seq, None) when some were dropped from the ring since (send a snapshot)."""
        with self._cond:
            self._cond.wait_for(lambda: self.seq > after or self.closed, timeout)
            if self._ring and self._ring[0][0] > after + 1:
                return self.seq, None
            return self.seq, [m for m in self._ring if m[0] > after]

    def set_stopper(self, stopper: Callable[[], None] | None) -> None:
        """What "stop" calls (in the server's thread) to end the run as Ctrl-C does (vgg.web.listener.ctrl_c);
        None: the listener raises KeyboardInterrupt at the loop's next event instead."""
        self._stopper, self.interrupts = stopper, stopper is not None

    def request_save(self) -> str:
        with self._cond:
            if self.status["state"] not in ("starting", "running"):
                return "nothing to save now: the run is " + self.status["state"]
            if self.save_elsewhere is not None:
                return self.save_elsewhere
            self.save_wanted = True
        return "saving the best image so far at the next iteration"

    def request_stop(self) -> str:
        """Stop the run (once): the state becomes stopping and the stopper is called, under the lock, so that
        a run that has just finished is not interrupted while it saves its result."""
        with self._cond:
            if self.status["state"] not in ("starting", "running"):
                return "nothing to stop: the run is " + self.status["state"]
            self.stop_wanted = True
            self.seq += 1
            self.status = {"state": "stopping", "message": "stopping: saving the best image so far"}
            self._ring.append((self.seq, "status", self.status))
            self._cond.notify_all()
            if self._stopper is not None:
                self._stopper()
        return "stopping"

    def close(self) -> None:
        """The streams end (the server is going away)."""
        with self._cond:
            self.closed = True
            self._cond.notify_all()
