"""--web on the command line: the run's page (vgg.web) served from the start, fed by the loop, told how it ended.

The server is bound before the inputs are read (an address in use is a one-line error, exit 2), its address
with its token printed on stderr, and the page shows the loading. "Save now" writes with the Writer's rules
(vgg.cli.results.Writer.snapshot); "stop" is Ctrl-C (vgg.web.listener.ctrl_c), so the run ends as after
Ctrl-C: the best image so far in --output, exit status 130. After the run the server waits, at most
--web-linger seconds, until every open page shows the end (Ctrl-C ends the wait at once), then closes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import ConfigError, ImageError
from ..report.listeners import Listener
from ..style.run import Run
from ..web.address import is_loopback, url_host
from . import signals
from .console import say, warning
from .invocation import Invocation
from .results import Writer

ENDED = {
    0: "finished; the result is in {output}",
    1: "ended with an error (exit status 1); the terminal says what was saved where",
    2: "ended with an error (exit status 2; the terminal says what)",
    130: "{how}; the best image so far is in {output} (exit status 130)",
    143: "terminated (SIGTERM); the best image so far is in {output} (exit status 143)",
    129: "hung up (the terminal closed); the best image so far is in {output} (exit status 129)",
}
KEPT = "the finished frames are kept beside {output}: the same command goes on from the next one"
CLIP_ENDED = {
    0: "finished; the video is in {output}",
    1: f"ended: a loss is no longer finite (exit status 1); {KEPT}",
    2: "ended with an error (exit status 2; the terminal says what)",
    130: f"{{how}}; {KEPT} (exit status 130)",
    143: f"terminated (SIGTERM); {KEPT} (exit status 143)",
    129: f"hung up (the terminal closed); {KEPT} (exit status 129)",
}


@contextlib.contextmanager
def served(inv: Invocation) -> Iterator[Any]:
    """The page's server (vgg.web.server.PageServer) while the block runs, or None without --web or in a dry run;
    an exception of the block is shown on the page as the end."""
    if inv.web is None or inv.dry_run:
        yield None
        return
    from ..web.listener import ctrl_c  # the HTTP server and the page only when asked for
    from ..web.server import PageServer

    host, port = inv.web
    try:
        server = PageServer(host, port)
    except OSError as exc:
        raise ConfigError(f"{inv.given.get('web', '--web')} {url_host(host)}:{port}: cannot serve there "
                          f"({exc.strerror or exc})") from None  # fmt: skip
    server.board.set_stopper(ctrl_c())
    server.start()
    if not is_loopback(host):
        warning(f"--web {url_host(host)}:{port} is reachable from other machines: anyone with the address and its "
                "token can watch and stop the run, over plain HTTP")  # fmt: skip
    say("web", f"the run's page is at {server.url}")
    try:
        yield server
    except BaseException as exc:
        server.board.set_status("ended", _failure(exc))
        raise
    finally:
        _linger(server, inv.web_linger)


def _failure(exc: BaseException) -> str:
    if isinstance(exc, signals.ENDING):
        return f"{signals.WORDS[signals.exit_status(exc)]} before the run began; nothing saved"
    return f"ended with an error: {exc}"


def _linger(server: Any, seconds: float) -> None:
    try:
        server.wait_streams_closed(seconds)
    except signals.ENDING:
        pass  # Ctrl-C (or a signal) while pages get the end: the run is over and saved, the server goes now
    finally:
        server.close()


def ended(server: Any, inv: Invocation, code: int) -> None:
    """The run's end, on the page."""
    if server is None:
        return
    how = "stopped from the page" if server.board.stop_wanted else "interrupted (Ctrl-C)"
    texts = CLIP_ENDED if inv.is_clip else ENDED
    text = texts.get(code, "ended with exit status {code}").format(output=inv.output, how=how, code=code)
    server.board.set_status("ended", text)


def listener(server: Any, inv: Invocation, run: Run, writer: Writer, item: int | None = None) -> Listener:
    """The listener that feeds the page from ``run`` (``item``: its index in a batch)."""
    from ..web.listener import WebListener, run_inputs

    def save(i: int, image: np.ndarray) -> str:
        try:
            name = writer.snapshot(i, image)
        except ImageError as exc:
            warning(f"save now: {exc}; the run goes on")
            return f"not saved: {exc}"
        say("web", f"saved the best image so far (after iteration {i + 1}) as {name}")
        return f"saved the best image so far (after iteration {i + 1}) as {name}"

    inputs = run_inputs(run, inv.content, inv.styles, inv.initial)
    return WebListener(server.board, server.frames, run, _settings(inv), inputs, save, item)


def _settings(inv: Invocation) -> dict[str, Any]:
    return {k: v for k, v in inv.flag_values.items() if k not in ("web", "web_linger")}


def clip_started(server: Any, frames: int, done: int, folder: str) -> None:
    """A video on the page: its frames as the items (those finished already marked), "save now" explained."""
    board = server.board
    board.set_items([f"frame {k + 1}" for k in range(frames)])
    for k in range(done):
        board.item(k, "done", "finished earlier")
    board.save_not_here(f"nothing to save: every finished frame is kept in {folder} as it is made")


def frame_listener(server: Any, inv: Invocation, run: Run, index: int) -> Listener:
    """The listener that feeds the page from the run of a video's frame ``index``."""
    from ..web.listener import WebListener

    server.board.item(index, "running")
    inputs: list[tuple[str, str, Any]] = [("content", f"{inv.content}, frame {index + 1}", run.content)]
    inputs += [(f"style {k + 1}", path, image) for k, (path, image) in enumerate(zip(inv.styles, run.styles))]
    if run.initial is not None:
        inputs.append(("start", f"frame {index}'s result, warped onto this frame", run.initial))
    return WebListener(server.board, server.frames, run, _settings(inv), inputs, None, index)


def frame_done(server: Any, index: int, count: int, seconds: float) -> None:
    server.board.item(index, "done", f"{seconds:.1f} s")
    server.board.set_status("running", f"frame {index + 1} of {count} finished")
