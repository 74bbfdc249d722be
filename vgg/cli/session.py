"""One run of the command line, from the checked record to an exit status: the images read at the sizes the
run uses, the network loaded, the loop run with its listeners, the images written, every way it can end
(finished, out of memory, a loss that is no longer finite, a signal) mapped to a status."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from minigrad import backend as mg_backend

from ..digests import edge_fingerprint
from ..errors import LossNotFiniteError, StateError
from ..files.images import load_image
from ..files.patterns import checkpoint_name
from ..files.state import input_fingerprints
from ..net.load import load_network
from ..report.history import HistoryListener
from ..report.listeners import Listener, broadcast
from ..report.runlog import RunLog
from ..report.states import StateWriter
from ..report.terminal import ProgressListener
from ..style.loop import Checkpoint, End, Event
from ..style.pixels import MAX_SIDE, resize_to_width, scale_style, scaled_style_hw, width_hw
from ..style.run import Run, TargetCache
from . import checks, dry_run, page, signals
from .console import error, warning
from .invocation import Invocation
from .results import Guarded, Writer


def read_images(inv: Invocation) -> tuple[Any, list[Any], Any]:
    """The images at the sizes the run uses; ImageError if one is too small, ConfigError if the run
    would not fit in memory (both before the network is loaded)."""
    content = load_image(inv.content, inv.width)
    hw = content.shape[:2] if inv.width is None else width_hw(content.shape[:2], inv.width)
    checks.check_side("--content", inv.content, hw)
    width, scales, config = hw[1], checks.style_scales(inv), inv.config
    hint = int(min(max(config.scales), MAX_SIDE)) if config.scales else width  # widest the styles are needed
    originals = [load_image(p, max(1, int(min(s * hint, MAX_SIDE)))) for p, s in zip(inv.styles, scales)]
    final = width_hw(content.shape[:2], int(max(config.scales))) if config.scales else hw
    checks.check_output_sizes(inv, final)
    if config.scales:  # coarse to fine: resized at each scale instead (vgg.style.scales)
        checks.check_scale_sides(inv, content.shape[:2])
    else:
        checks.check_sizes(hw, [scaled_style_hw(s.shape[:2], width, k) for s, k in zip(originals, scales)])
    checks.check_memory(inv, hw, [s.shape[:2] for s in originals])  # from the sizes: nothing enlarged yet
    if inv.width is not None:
        content = resize_to_width(content, inv.width)
    styles = originals if config.scales else [scale_style(s, width, k) for s, k in zip(originals, scales)]
    initial = load_image(inv.initial, hint) if inv.initial else None
    return content, styles, initial


def load(inv: Invocation) -> Any:
    """The network, its warnings (an unknown release) as our warning lines."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = load_network(inv.network, pooling=inv.config.pooling, backend=inv.config.backend)
    for w in caught:
        warning(str(w.message))
    return net


def make_run(
    inv: Invocation,
    resume: dict[str, np.ndarray] | None,
    network: Callable[[Invocation], Any] | None = None,
    target_cache: TargetCache | None = None,
) -> Run:
    """The run of the loop the record asks for: inputs read, network loaded (by ``network(inv)`` when given: a
    batch's cache), the style targets shared through ``target_cache`` when given (vgg.style.run)."""
    content, styles, initial = read_images(inv)
    net = (network or load)(inv)
    config = dataclasses.replace(inv.config, memory_limit=checks.memory_budget(inv))  # the planner's budget
    try:
        run = Run(net, content, styles, initial, config, resume=resume, style_layers=inv.log is not None,
                  target_cache=target_cache)  # fmt: skip
    except StateError as exc:  # the run names the field; the file is this invocation's to name
        raise StateError(f"{inv.resume.path}: {exc}") from None
    if inv.config.backend == "numpy":
        _host_memory(run)
    return run


def _host_memory(run: Run) -> None:
    """The plain graph allocates the same big arrays every iteration: a heap kept for reuse skips their page
    faults. A plan's kept heap holds more than its arrays (the pieces its phases leave): a plan keeps the heap where
    the budget has room for that estimate (Run.keeps_heap), else glibc's defaults, slower (benchmarks/RESULTS.md,
    print size)."""
    if run.keeps_heap():
        mg_backend.reuse_host_memory()
    else:
        mg_backend.release_host_memory()


def listeners(
    inv: Invocation, run: Run, terminal: bool = True, server: Any = None, writer: Writer | None = None
) -> list[Listener]:
    """What listens to the loop: the progress lines (``terminal``: a batch shows its own), the loss history and
    its plot, the run log, the resume states (a failing file is reported once and left out; the run goes on), the
    page (with ``server``, whose "save now" goes through ``writer``)."""
    out: list[Listener] = [ProgressListener(None, inv.progress)] if terminal else []
    if inv.progress_write is not None:
        history = HistoryListener(inv.progress_write, None, inv.overwrite, inv.continues("progress_write"))
        out.append(Guarded(history, "--progress-write", inv.progress_write))
    if inv.progress_plot is not None:
        out.append(
            Guarded(HistoryListener(None, inv.progress_plot, inv.overwrite), "--progress-plot", inv.progress_plot)
        )
    meta = {"network": edge_fingerprint(inv.network), "cli": inv.saved()}
    meta["inputs"] = input_fingerprints(checks.input_files(inv))
    if inv.log is not None:
        extra = {"network": meta["network"], "arguments": inv.flag_values}
        if inv.resume is not None:
            extra["resumed"] = {"state": inv.resume.path, "after_iteration": inv.resumed_after()}
        log = RunLog(inv.log, run.config, extra, overwrite=inv.overwrite, append=inv.continues("log"))
        out.append(Guarded(log, "--log", inv.log))
    if inv.checkpoint_output is not None:
        pattern = inv.checkpoint_output
        name = lambda i: checkpoint_name(pattern, i)  # noqa: E731
        out.append(StateWriter(run, name, meta, _state_not_written, overwrite=inv.overwrite, keep=inv.keep_states))
    if server is not None and writer is not None:
        out.append(page.listener(server, inv, run, writer))
    return out


def _state_not_written(name: str, exc: Exception) -> None:
    warning(f"{name}: the resume state could not be written ({exc}); the run goes on")


def write_images(events: Iterator[Event], writer: Writer) -> int:
    """Each checkpoint to --checkpoint-output (iteration i filled in), the end to --output; the exit status."""
    for event in events:
        if isinstance(event, Checkpoint):
            writer.checkpoint(event.i, event.image)
        elif isinstance(event, End):
            return 0 if writer.result(event.image) == writer.output else 1
    return 0


def run(inv: Invocation, resume: dict[str, np.ndarray] | None) -> int:
    """The run, or the dry run, with its page when asked for (--web); the exit status."""
    with page.served(inv) as server:
        code = _run(inv, resume, server)
        page.ended(server, inv, code)
        return code


def _run(inv: Invocation, resume: dict[str, np.ndarray] | None, server: Any) -> int:
    if inv.is_clip:
        from . import clip_run  # only a clip's run imports the video extra

        return clip_run.run(inv, server)
    loop = make_run(inv, resume)
    if inv.dry_run:
        print(dry_run.report(loop))
        return 0
    reserved = [row.path for row in inv.files() if row.is_output]
    writer = Writer(inv.output, inv.checkpoint_output, inv.overwrite, reserved)
    events = broadcast(loop.events(), listeners(inv, loop, server=server, writer=writer))
    try:
        return write_images(events, writer)
    except MemoryError as exc:  # numpy's, and cupy's OutOfMemoryError, which derives from it
        error(f"{checks.out_of_memory(inv, loop.content, loop.styles)} ({exc})")
        return 2
    except LossNotFiniteError as exc:
        return _not_finite(writer, exc)
    except signals.ENDING as exc:
        events.close()  # the listeners close: the status line is erased before our line
        return signals.interrupted(exc, loop.best_image, writer)


def _not_finite(writer: Writer, exc: LossNotFiniteError) -> int:
    if exc.image is None:
        error(f"{exc}; no image had a finite loss, nothing saved")
    elif writer.result(exc.image, "the best finite image") == writer.output:
        error(f"{exc}; saved the best finite image (loss {exc.loss:g}) to {writer.output}")
    return 1
