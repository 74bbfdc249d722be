"""The run of a clip as --content: the frames read, the flows computed ahead, the frames stylised in order into the
work folder beside the output (vgg.video), the video assembled; an interrupt keeps every finished frame and the
same command goes on from the next one. One line per frame on stderr (the loss lines with --print-iterations)."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace
from typing import Any

from ..digests import edge_fingerprint, whole_fingerprint
from ..errors import LossNotFiniteError
from ..files.images import load_image
from ..report.terminal import ProgressListener
from ..style.pixels import scale_style
from . import checks, page, signals
from .console import error, say, warning
from .invocation import Invocation

# Settings that change no frame: a work folder made with other values of these goes on
NOT_IN_FRAMES = ("print_iterations", "readback_every")


def read_styles(inv: Invocation, width: int) -> list[Any]:
    scales = checks.style_scales(inv)
    return [scale_style(load_image(p, max(1, int(s * width))), width, s) for p, s in zip(inv.styles, scales)]


def manifest(inv: Invocation, source: Any, config: Any) -> dict[str, Any]:
    """What the frames of this run are made of (vgg.video.work)."""
    settings = {k: v for k, v in json.loads(config.to_json()).items() if k not in NOT_IN_FRAMES}
    return {
        "content": source.fingerprint(),
        "frames": source.count,
        "size": list(source.hw),
        "styles": [whole_fingerprint(p) for p in inv.styles],
        "style_scales": checks.style_scales(inv),
        "network": edge_fingerprint(inv.network),
        "settings": settings,
        "video": inv.video.computed(),
    }


def work_config(inv: Invocation, work: Any) -> Any:
    """The run's settings; without --seed, the seed of the work folder's earlier run (it made frame 0)."""
    saved = work.manifest()
    if saved is not None and "seed" not in inv.given:
        seed = saved.get("settings", {}).get("seed")
        if isinstance(seed, int):
            return dataclasses.replace(inv.config, seed=seed)
    return inv.config


def run(inv: Invocation, server: Any = None) -> int:
    """The clip's run; the exit status (0, 1 for a loss that is no longer finite, 2, or 128 + a signal);
    ``server``: the page's (--web), which lists the frames and shows the one in progress."""
    from ..video.assemble import assemble
    from ..video.driver import VideoStylizer
    from ..video.source import open_source
    from ..video.work import WorkFolder
    from . import session

    source = open_source(inv.content, inv.content_kind, inv.width, inv.video.frame_rate)
    checks.check_side("--content", inv.content, source.hw)
    styles = read_styles(inv, source.hw[1])
    checks.check_memory(inv, source.hw, [s.shape[:2] for s in styles])
    net = session.load(inv)
    work = WorkFolder(inv.output)
    config = work_config(inv, work)
    resumed = work.open(manifest(inv, source, config), inv.overwrite)
    done = len(work.done())
    say("video", _intro(source, resumed, done, work.path))
    if server is not None:
        page.clip_started(server, source.count, done, work.path)

    def listen(index: int, frame_run: Any) -> list[Any]:
        out: list[Any] = [ProgressListener(None, inv.progress)] if config.print_iterations else []
        return out + ([page.frame_listener(server, inv, frame_run, index)] if server is not None else [])

    stylizer = VideoStylizer(net, source, styles, config, inv.video, work, listen)
    try:
        return _go(inv, source, work, stylizer, assemble, server)
    except LossNotFiniteError as exc:
        error(f"{exc} (frame {len(work.done())} of {source.count}); the finished frames are kept in {work.path}")
        return 1
    except MemoryError as exc:
        error(f"{checks.out_of_memory(inv, SimpleNamespace(shape=(*source.hw, 3)), styles)} ({exc})")
        return 2
    except signals.ENDING as exc:
        code = signals.exit_status(exc)
        finished = len(work.done())
        error(f"{signals.WORDS[code]}; {finished} of {source.count} frames are finished in {work.path}: run the same "
              "command again to go on")  # fmt: skip
        return code


def _intro(source: Any, resumed: bool, done: int, folder: str) -> str:
    h, w = source.hw
    text = f"{source.count} frames of {w}x{h} at {float(source.rate):g} per second"
    return text + (f"; {done} finished already in {folder}, going on" if resumed else f"; work folder {folder}")


def _go(inv: Invocation, source: Any, work: Any, stylizer: Any, assemble: Any, server: Any) -> int:
    if server is not None:
        server.board.set_status("running", "the optical flow of the frames, ahead")
    flows = stylizer.flows()
    if flows.pairs:
        say("video", f"optical flow of {flows.pairs} frames in {flows.seconds:.2f} s")
    for done in stylizer.frames():
        losses = ", ".join(f"{k} {v:.4g}" for k, v in done.losses.items() if k != "total")
        say("frame", f"{done.index + 1}/{done.count} in {done.seconds:.2f} s: {losses}")
        if server is not None:
            page.frame_done(server, done.index, done.count, done.seconds)
    if server is not None:
        server.board.set_status("finishing", "assembling the video")
    for note in assemble(source, work, inv.output, _output_kind(inv), inv.overwrite):
        warning(note)
    say("video", f"wrote {inv.output}")
    return 0


def _output_kind(inv: Invocation) -> str:
    from ..video.kinds import output_kind

    return output_kind(inv.output)
