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
    text = ENDED.get(code, "ended with exit status {code}").format(output=inv.output, how=how, code=code)
    server.board.set_status("ended", text)


def listener(server: Any, inv: Invocation, run: Run, writer: Writer) -> Listener:
    """The listener that feeds the page from ``run``."""
    from ..web.listener import WebListener, run_inputs

    def save(i: int, image: np.ndarray) -> str:
        try:
            name = writer.snapshot(i, image)
        except ImageError as exc:
            warning(f"save now: {exc}; the run goes on")
            return f"not saved: {exc}"
        say("web", f"saved the best image so far (after iteration {i + 1}) as {name}")
        return f"saved the best image so far (after iteration {i + 1}) as {name}"

    settings = {k: v for k, v in inv.flag_values.items() if k not in ("web", "web_linger")}
    inputs = run_inputs(run, inv.content, inv.styles, inv.initial)
    return WebListener(server.board, server.frames, run, settings, inputs, save)
