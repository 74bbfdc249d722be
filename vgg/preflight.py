"""The CLI's checks of a run before the network loads: checkpoint files, inputs that are outputs,
image sizes, memory; and what an out-of-memory error names. ``args`` is the CLI's namespace."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from typing import Any

from . import arguments, images, memory, outputs
from .config import StyleConfig
from .errors import ConfigError, ImageError


def is_checkpoint_iteration(config: StyleConfig, i: int) -> bool:
    """What config.checkpoint_iterations_list() holds, without making the list (O(stages))."""
    counts = config.stage_iterations()
    ends = {sum(counts[: k + 1]) - 1 for k in range(len(counts) - 1)}  # a stage's end is a checkpoint too
    return i in ends or arguments.is_checkpoint_iteration(i, sum(counts), config.checkpoint_iterations or 0)


def is_checkpoint_file(args: argparse.Namespace, config: StyleConfig, path: str, pattern: str | None = None) -> bool:
    """Whether the run writes ``path`` as a checkpoint (worked out from the name, not by listing them all);
    with ``pattern``, as a file of that pattern written beside each checkpoint (a resume state)."""
    if not args.checkpoint_output:
        return False
    pattern = args.checkpoint_output if pattern is None else pattern
    i = arguments.iteration_of(pattern, os.path.realpath(path))
    if i is None:
        i = arguments.iteration_of(pattern, path)
    return i is not None and is_checkpoint_iteration(config, i)


def _existing_checkpoints(args: argparse.Namespace, config: StyleConfig) -> Iterator[str]:
    after = getattr(args, "resume_iteration", -1)  # --resume: only the checkpoints after its state are written
    return arguments.existing_checkpoints(
        args.checkpoint_output, lambda i: i > after and is_checkpoint_iteration(config, i)
    )


def check_checkpoint_files(args: argparse.Namespace, config: StyleConfig) -> None:
    """Checkpoint names: one directory listing, whatever the number of iterations."""
    if args.checkpoint_output is None:
        return
    images.check_output(arguments.checkpoint_name(args.checkpoint_output, 0), overwrite=True)
    if is_checkpoint_file(args, config, args.output):
        raise ConfigError(f"--output {args.output} is also a --checkpoint-output file name")
    existing = next(_existing_checkpoints(args, config), None)
    if existing is not None and not args.overwrite:
        raise ConfigError(f"--checkpoint-output: {existing} already exists; pass --overwrite to replace it")


def _inputs(args: argparse.Namespace) -> list[tuple[str, str]]:
    named = [("--content", args.content), *(("--styles", s) for s in args.styles), ("--initial", args.initial)]
    named += [("--network", args.network), ("--resume", getattr(args, "resume", None))]
    return [(flag, path) for flag, path in named if path is not None]


def check_not_inputs(args: argparse.Namespace, config: StyleConfig) -> None:
    """No output (--output, checkpoints, progress files, --log) is the same file as an input (--resume STATE
    among them), --overwrite or not."""
    inputs = _inputs(args)
    files = [
        ("--output", args.output),
        ("--progress-write", args.progress_write),
        ("--progress-plot", args.progress_plot),
        ("--log", getattr(args, "log", None)),
    ]
    outputs.check_not_inputs([(flag, path) for flag, path in files if path is not None], inputs)
    if args.checkpoint_output is None:
        return
    for flag, path in inputs:  # an input named like a checkpoint, or a hard link of one that exists
        if is_checkpoint_file(args, config, path):
            raise ConfigError(f"--checkpoint-output {args.checkpoint_output} would write over {flag} {path}")
    outputs.check_not_inputs((("--checkpoint-output", p) for p in _existing_checkpoints(args, config)), inputs)


def check_side(flag: str, path: str, hw: tuple[int, int]) -> None:
    """ImageError if an image of this (height, width) is smaller than the losses can use (memory.smallest_side)."""
    smallest = memory.smallest_side()
    height, width = hw
    if min(height, width) < smallest:
        raise ImageError(f"{flag} {path}: {width}x{height} is smaller than the {smallest}x{smallest} the network needs")


def check_sizes(args: argparse.Namespace, content_hw: tuple[int, int], style_hws: list[tuple[int, int]]) -> None:
    """ConfigError naming --width or --style-scales if an image would be larger than Pillow can make."""
    sized = [("--width", content_hw), *(("--style-scales", hw) for hw in style_hws)]
    for flag, (height, width) in sized:
        if max(height, width) > images.MAX_SIDE:
            raise ConfigError(
                f"{flag}: an image of {width}x{height} pixels; each side can be at most {images.MAX_SIDE}"
            )


def check_memory(
    args: argparse.Namespace, config: StyleConfig, content_hw: tuple[int, int], originals: list[Any]
) -> None:
    """ConfigError (estimate, memory available, the largest --width that fits) if the run would not fit;
    from the sizes alone (``content_hw`` after --width, the styles before scaling), so nothing is enlarged."""
    scales = args.style_scales or [1.0] * len(originals)

    def styles_at(width: int) -> list[tuple[int, int]]:
        return [images.scaled_style_hw(s.shape[:2], width, k) for s, k in zip(originals, scales)]

    hw, width_flag = content_hw, "--width"
    if getattr(config, "scales", None):  # coarse to fine: the last (widest) stage is the largest
        width = int(max(config.scales))
        hw, width_flag = (max(1, hw[0] * width // hw[1]), width), "last --scales width"
    which = memory.largest_input(hw, styles_at(hw[1]), config.pooling)
    also = ""
    if which >= 0 and scales[which] > 1:  # an enlarged style needs the most: shrinking it is the other way
        also = f", or a smaller --style-scales for {args.styles[which]} (now {scales[which]:g})"
    network = getattr(args, "network", None)
    known = config.backend == "numpy" and network is not None and os.path.isfile(network)
    floor = memory.network_load_bytes(network) if known else 0
    settings = {"optimizer": config.optimizer, "history_size": config.lbfgs_history}
    settings.update(width_flag=width_flag, also=also)
    problem = memory.refusal(hw, styles_at, backend=config.backend, floor_bytes=floor, **settings)
    if problem is not None:
        raise ConfigError(problem)


def out_of_memory(args: argparse.Namespace, config: StyleConfig, content: Any, styles: list[Any]) -> str:
    """What was too big: the content, or the style whose targets need the most memory at its scale."""
    where = "GPU" if config.backend == "cupy" else "host"
    which = memory.largest_input(content.shape[:2], [s.shape[:2] for s in styles], config.pooling)
    if which < 0:
        height, width = content.shape[:2]
        return f"out of {where} memory for a {width}x{height} image (the content); try a smaller --width"
    height, width = styles[which].shape[:2]
    scale = (args.style_scales or [1.0] * len(styles))[which]
    return (
        f"out of {where} memory for a {width}x{height} image (the style {args.styles[which]} at scale {scale:g}); "
        "try a smaller --style-scales or --width"
    )
