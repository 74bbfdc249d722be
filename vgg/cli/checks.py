"""Everything checked before the network loads: the flags together, the table of the run's files, the
image sizes and the memory; and what an out-of-memory error names. Each failure is one line (ConfigError,
ImageError, NetworkFileError or StateError)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from minigrad import backend as mg_backend

from ..errors import ConfigError, ImageError
from ..files import atomic, patterns
from ..files.images import check_output, check_size
from ..files.state import check_inputs, check_network
from ..style import memory, plans
from ..style.pixels import MAX_SIDE, scaled_style_hw, width_hw
from ..style.schedule import Schedule
from . import clip
from .invocation import CHECKPOINTS, IMAGE, INPUT, VIDEO, Invocation, RunFile

# The flags of one optimiser only: refused with the other
OPTIMIZER_FLAGS = {"adam": ("beta1", "beta2", "epsilon"), "lbfgs": ("lbfgs_history", "line_search")}


def check_flags(inv: Invocation) -> None:
    """The flags together, before any file is looked at."""
    c = inv.config
    clip.check_flags(inv)
    if inv.tf32 and c.backend != "cupy":
        raise ConfigError("--tf32 needs --backend cupy")
    if inv.width is not None and inv.width <= 0:
        raise ConfigError(f"--width must be positive, got {inv.width}")
    if c.scales is not None and inv.width is not None:
        raise ConfigError("--width and --scales both set the content's width: give one of them")
    if (inv.checkpoint_output is None) != (c.checkpoint_iterations is None):
        raise ConfigError("use both --checkpoint-output and --checkpoint-iterations, or neither")
    if inv.checkpoint_output is not None:
        try:
            patterns.check_pattern(inv.checkpoint_output)
        except ConfigError as exc:
            raise ConfigError(f"--checkpoint-output {exc}") from None
    if "web_linger" in inv.given and inv.web is None:
        raise ConfigError(f"{inv.given['web_linger']} applies to --web only")
    if inv.keep_states < 0:
        raise ConfigError(f"--keep-states must be 0 (all) or more, got {inv.keep_states}")
    for optimizer, dests in OPTIMIZER_FLAGS.items():
        flag = next((inv.given[d] for d in dests if d in inv.given and c.optimizer != optimizer), None)
        if flag is not None:
            raise ConfigError(f"{flag} applies to --optimizer {optimizer} only, not --optimizer {c.optimizer}")
    mg_backend.array_module(c.backend)  # BackendError: unknown, or cupy without a CUDA device
    if inv.tf32:
        mg_backend.allow_tf32()  # before any GEMM: CuPy reads its switch at the first one


# ---- the table of files -------------------------------------------------------------------------------


def _pattern_files(row: RunFile, schedule: Schedule, after: int, path: str) -> int | None:
    """The iteration whose file of ``row``'s pattern ``path`` is, when the run writes it; else None."""
    for candidate in (os.path.realpath(path), path):
        i = patterns.iteration_of(row.path, candidate)
        if i is not None and i > after and schedule.is_checkpoint(i):
            return i
    return None


def _existing(row: RunFile, schedule: Schedule, after: int) -> Iterator[str]:
    """The files of a pattern row that exist already and the run would write."""
    return patterns.existing_files(row.path, lambda i: i > after and schedule.is_checkpoint(i))


def _twice(row: RunFile, other: RunFile, i: int | None = None) -> ConfigError:
    what = f"{other.flag} {other.path}" if i is None else f"the {other.kind} file of iteration {i} ({other.flag})"
    return ConfigError(f"{row.flag} {row.path} is also {what}: one file would be written twice")


def _is_input(flag: str, path: str, other: RunFile) -> ConfigError:
    return ConfigError(f"{flag} {path} is the same file as {other.flag} {other.path}; an input is never overwritten")


def check_files(inv: Invocation) -> None:
    """From the one table (Invocation.files): no output is an input or another output, each output can be
    written and is not there already (without --overwrite), no checkpoint the run writes exists already."""
    rows, schedule, after = inv.files(), inv.schedule(), inv.resumed_after()
    inputs = [r for r in rows if r.kind == INPUT]
    outputs = [r for r in rows if r.is_output]
    pattern_rows = [r for r in rows if r.is_pattern]
    _check_inputs_exist(inv, inputs)
    for row in outputs:
        for other in inputs:
            if atomic.same_file(row.path, other.path):
                raise _is_input(row.flag, row.path, other)
    for k, row in enumerate(outputs):
        for other in outputs[k + 1 :]:
            if os.path.abspath(row.path) == os.path.abspath(other.path):
                raise _twice(other, row)
    for row in pattern_rows:
        for other in [*outputs, *inputs]:
            i = _pattern_files(row, schedule, after, other.path)
            if i is not None and other.kind == INPUT:
                raise ConfigError(f"--checkpoint-output {row.path} would write over {other.flag} {other.path}")
            if i is not None:
                raise _twice(other, row, i)
        for existing in _existing(row, schedule, after):
            for other in inputs:
                if atomic.same_file(existing, other.path):
                    raise _is_input(row.flag, existing, other)
    for row in outputs:
        _check_output(row, inv.overwrite)
    for row in pattern_rows:
        _check_pattern_output(row, schedule, after, inv.overwrite)
    if inv.is_clip:
        clip.check_files(inv, rows, inputs)


def _check_inputs_exist(inv: Invocation, inputs: Sequence[RunFile]) -> None:
    """With --resume, a saved input that is gone is named with the flag that gives it again."""
    if inv.resume is None:
        return
    for row in inputs:
        if row.flag != "--resume" and not os.path.exists(row.path):
            raise ConfigError(
                f"{row.flag} {row.path}: no such file (the input the state was saved with is gone; give {row.flag} "
                "again, with the same file)"
            )


def _check_output(row: RunFile, overwrite: bool) -> None:
    if row.kind == IMAGE:
        check_output(row.path, overwrite)
    elif row.kind == VIDEO:
        clip.check_video_output(row, overwrite)
    else:
        atomic.check_writable(row.path, overwrite or row.append)


def _check_pattern_output(row: RunFile, schedule: Schedule, after: int, overwrite: bool) -> None:
    first = next(schedule.checkpoints(after), None)
    if first is None:
        return
    name = patterns.checkpoint_name(row.path, first)
    if row.kind == CHECKPOINTS:
        check_output(name, overwrite=True)
    else:
        atomic.check_writable(name, overwrite=True)
    existing = next(_existing(row, schedule, after), None)
    if existing is not None and not overwrite:
        raise ConfigError(f"--checkpoint-output: {existing} already exists; pass --overwrite to replace it")


def check_resumed_files(inv: Invocation) -> None:
    """With --resume: the network and the input images must be the files the state was saved with."""
    if inv.resume is not None:
        check_network(inv.resume.path, inv.resume.meta, inv.network)
        check_inputs(inv.resume.path, inv.resume.meta, input_files(inv))


def input_files(inv: Invocation) -> dict[str, Any]:
    return {"--content": inv.content, "--styles": list(inv.styles), "--initial": inv.initial}


def check_all(inv: Invocation) -> None:
    """Everything that can be checked before any image or network is read."""
    check_flags(inv)
    check_files(inv)
    check_resumed_files(inv)


# ---- sizes and memory ---------------------------------------------------------------------------------


def check_side(flag: str, path: str, hw: tuple[int, int]) -> None:
    """ImageError if an image of this (height, width) is smaller than the losses can use (memory.smallest_side)."""
    smallest = memory.smallest_side()
    height, width = hw
    if min(height, width) < smallest:
        raise ImageError(f"{flag} {path}: {width}x{height} is smaller than the {smallest}x{smallest} the network needs")


def check_scale_sides(inv: Invocation, content_hw: tuple[int, int]) -> None:
    """ImageError if the narrowest --scales width makes the content smaller than the network needs."""
    smallest, width = memory.smallest_side(), int(min(inv.config.scales))
    height = width_hw(content_hw, width)[0]
    if min(width, height) < smallest:
        raise ImageError(f"--scales {width}: the content would be {width}x{height}, smaller than {smallest}x{smallest}")


def check_sizes(content_hw: tuple[int, int], style_hws: Sequence[tuple[int, int]]) -> None:
    """ConfigError naming --width or --style-scales if an image would be larger than Pillow can make."""
    for flag, (height, width) in [("--width", content_hw), *(("--style-scales", hw) for hw in style_hws)]:
        if max(height, width) > MAX_SIDE:
            raise ConfigError(f"{flag}: an image of {width}x{height} pixels; each side can be at most {MAX_SIDE}")


def check_output_sizes(inv: Invocation, hw: tuple[int, int]) -> None:
    """ImageError if --output's or the checkpoints' format cannot hold the result's size (the largest they get)."""
    names = [inv.output] + ([patterns.checkpoint_name(inv.checkpoint_output, 0)] if inv.checkpoint_output else [])
    for name in names:
        check_size(name, (hw[1], hw[0]))


def style_scales(inv: Invocation) -> list[float]:
    return list(inv.config.style_scales or [1.0] * len(inv.styles))


def memory_budget(inv: Invocation) -> int | None:
    """The bytes the run may use: --memory-limit, else what the machine has available; None when unknown."""
    return inv.config.memory_limit or memory.available_bytes(inv.config.backend)


def check_memory(inv: Invocation, content_hw: tuple[int, int], originals: Sequence[tuple[int, int]]) -> None:
    """ConfigError if the run would not fit even with the leanest plan (vgg.style.plans): the estimate, what
    needs the most, the memory available, and only advice that is itself accepted (a width the network takes, a
    smaller style scale, a shorter L-BFGS history). From the sizes alone (``content_hw`` after --width, the
    styles before scaling), so nothing is enlarged."""
    config, scales = inv.config, style_scales(inv)
    budget = memory_budget(inv)
    if budget is None:
        return
    hw, width_flag, lowest = content_hw, "--width", memory.smallest_side()
    if config.scales:  # coarse to fine: the last (widest) stage is the largest
        hw, width_flag = width_hw(content_hw, int(max(config.scales))), "last --scales width"
        lowest = max(lowest, (sorted(config.scales)[-2] + 1) if len(config.scales) > 1 else lowest)
    floor = memory.network_load_bytes(inv.network) if config.backend == "numpy" else 0

    def leanest(width: int, history: int = config.lbfgs_history) -> tuple[dict[str, int], int]:
        """The leanest way to run at this width: its parts, and the budget it needs (a plan's with the margin)."""
        size = hw if width == hw[1] else width_hw(hw, width)
        styles = [scaled_style_hw(s, width, k) for s, k in zip(originals, scales)]
        settings = {"backend": config.backend, "optimizer": config.optimizer, "history_size": history,
                    "pooling": config.pooling}  # fmt: skip
        ways = [(memory.breakdown(size, styles, **settings), 1.0)]
        ways += [(plans.breakdown(size, styles, p, **settings), plans.PLAN_MARGIN) for p in plans.candidates(size[0])]
        parts, margin = min(ways, key=lambda way: sum(way[0].values()) / way[1])
        return parts, max(floor, int(sum(parts.values()) / margin))

    def need(width: int, history: int = config.lbfgs_history) -> int:
        return leanest(width, history)[1]

    if need(hw[1]) <= budget:
        return
    styles = [scaled_style_hw(s, hw[1], k) for s, k in zip(originals, scales)]
    raise ConfigError(_refusal(inv, hw, styles, leanest(hw[1])[0], need, budget, width_flag, lowest))


def _refusal(
    inv: Invocation,
    hw: tuple[int, int],
    style_hws: list[tuple[int, int]],
    parts: dict[str, int],
    need: Callable[..., int],
    budget: int,
    width_flag: str,
    lowest: int,
) -> str:
    """The one line of a refusal: the leanest estimate, its largest part, the budget, and what would fit."""
    config, scales = inv.config, style_scales(inv)
    where = "host" if config.backend == "numpy" else "GPU"
    largest = max(("content", "styles", "optimizer"), key=lambda k: parts.get(k, 0))
    arrays = f"the image-sized arrays (the image, its gradient, the {config.optimizer} state)"
    what = {"content": f"the content's {hw[1]}x{hw[0]} forward and backward pass", "styles": "the style targets",
            "optimizer": arrays}[largest]  # fmt: skip
    if largest == "styles":
        which = memory.largest_input(hw, style_hws, config.pooling)  # the style whose targets need the most
        what = f"the style targets of {inv.styles[max(which, 0)]} at scale {scales[max(which, 0)]:g}"
    elif largest == "optimizer" and config.optimizer == "lbfgs":
        what = f"the L-BFGS history ({config.lbfgs_history} pairs of image-sized vectors)"
    best = memory.largest_fitting_width(lambda width: need(width) <= budget, hw[1] - 1)
    advice = [f"the largest {width_flag} that fits is {best}"] if best is not None and best >= lowest else []
    enlarged = [k for k, s in enumerate(scales) if s > 1]
    if enlarged:
        k = max(enlarged, key=lambda k: scales[k])
        advice.append(f"a smaller --style-scales for {inv.styles[k]} (now {scales[k]:g})")
    if config.optimizer == "lbfgs" and config.lbfgs_history > 1:
        history = memory.largest_fitting_width(lambda h: need(hw[1], h) <= budget, config.lbfgs_history - 1)
        if history is not None:
            advice.append(f"--lbfgs-history {history} (now {config.lbfgs_history})")
    said = "given by --memory-limit" if config.memory_limit else "available"
    return (
        f"a {hw[1]}x{hw[0]} run needs about {memory.format_bytes(sum(parts.values()))} of {where} memory even with "
        f"its leanest plan, most of it {what}, and {memory.format_bytes(budget)} is {said} (a plan may use "
        f"{plans.PLAN_MARGIN:.0%} of it); "
        + ("; or ".join(advice) if advice else f"no {width_flag} the network takes fits")
    )


def out_of_memory(inv: Invocation, content: Any, styles: list[Any]) -> str:
    """What was too big: the content, or the style whose targets need the most memory at its scale."""
    where = "GPU" if inv.config.backend == "cupy" else "host"
    which = memory.largest_input(content.shape[:2], [s.shape[:2] for s in styles], inv.config.pooling)
    if which < 0:
        height, width = content.shape[:2]
        return f"out of {where} memory for a {width}x{height} image (the content); try a smaller --width"
    height, width = styles[which].shape[:2]
    return (
        f"out of {where} memory for a {width}x{height} image (the style {inv.styles[which]} at scale "
        f"{style_scales(inv)[which]:g}); try a smaller --style-scales or --width"
    )
