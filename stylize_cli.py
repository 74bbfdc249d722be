"""The command line: flags -> StyleConfig -> the stylize loop (vgg.stylize).

Every flag of the original keeps its name, and its default except --iterations (docs/REFERENCE.md section 5).
Bad input ends with one line, `stylize: error: ...`, on stderr and exit status 2; a loss that becomes NaN or
infinite saves the best finite image to --output and exits with status 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

from minigrad import backend as mg_backend
from vgg import arguments, cli_features, download, images, preflight, safekeeping
from vgg.config import LEARNING_RATES
from vgg.driver import Checkpoint, End, Event
from vgg.errors import ConfigError, LossNotFiniteError, StyleError
from vgg.listeners import HistoryListener, Listener, ProgressListener, broadcast
from vgg.matconvnet import load_vgg19
from vgg.model import POOLINGS
from vgg.progress import MODES
from vgg.stylize import Run, StyleConfig

PROG = safekeeping.PROG  # one program name for every message, ours and safekeeping's
DEFAULTS = StyleConfig()
NETWORK = "imagenet-vgg-verydeep-19.mat"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line, like every other error here."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {message} (see --help)\n")


def _add_original_flags(p: argparse.ArgumentParser) -> None:
    d = DEFAULTS
    p.add_argument("--content", metavar="CONTENT", help="content image")
    p.add_argument("--styles", nargs="+", metavar="STYLE", help="one or more style images")
    p.add_argument("--output", metavar="OUTPUT", help="output image (its extension names the format)")
    p.add_argument("--checkpoint-output", metavar="OUTPUT", help="checkpoint file name, must contain %%s")
    p.add_argument("--iterations", type=int, default=d.iterations, help="iterations (default %(default)s)")
    p.add_argument("--width", type=int, help="resize the content image to this width")
    p.add_argument("--style-scales", type=float, nargs="+", metavar="STYLE_SCALE", help="one scale per style")
    p.add_argument(
        "--network",
        default=NETWORK,
        metavar="VGG_PATH",
        help="VGG-19 .mat (default %(default)s; a bare file name is looked for in the working directory, then "
        "where python -m vgg.download puts it)",
    )
    p.add_argument("--content-weight", type=float, default=d.content_weight, help="(default %(default)s)")
    p.add_argument("--style-weight", type=float, default=d.style_weight, help="(default %(default)s)")
    p.add_argument("--style-blend-weights", type=float, nargs="+", metavar="STYLE_BLEND_WEIGHT")
    p.add_argument("--tv-weight", type=float, default=d.tv_weight, help="(default %(default)s)")
    p.add_argument(
        "--learning-rate",
        type=float,
        help="(default {:g} for Adam, {:g} for L-BFGS)".format(*LEARNING_RATES.values()),
    )
    p.add_argument("--initial", metavar="INITIAL", help="initial image (default: Gaussian noise)")
    p.add_argument("--print-iterations", type=int, help="print the losses every N iterations")
    p.add_argument("--checkpoint-iterations", type=int, help="save a checkpoint every N iterations")


def _add_later_flags(p: argparse.ArgumentParser) -> None:
    d = DEFAULTS
    p.add_argument(
        "--content-weight-blend",
        type=float,
        default=d.content_weight_blend,
        help="content layers: relu4_2 * blend + relu5_2 * (1 - blend) (default %(default)s)",
    )
    p.add_argument(
        "--style-layer-weight-exp",
        type=float,
        default=d.style_layer_weight_exp,
        help="weight(next style layer) = exp * weight(layer), normalised to mean 1 (default %(default)s)",
    )
    p.add_argument("--preserve-colors", action="store_true", help="keep the content's colours (luminance transfer)")
    p.add_argument("--pooling", choices=POOLINGS, default=d.pooling, help="(default %(default)s)")
    p.add_argument(
        "--initial-noiseblend",
        type=float,
        help="share of noise blended into the initial image (or the content image) (default 1 without "
        "--initial, 0 with it)",
    )
    p.add_argument("--beta1", type=float, default=d.beta1, help="Adam beta1 (default %(default)s)")
    p.add_argument("--beta2", type=float, default=d.beta2, help="Adam beta2 (default %(default)s)")
    p.add_argument("--epsilon", "--eps", type=float, default=d.epsilon, help="Adam epsilon (default %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--progress-write", metavar="FILE", help="write the losses to FILE as they come (tab-separated)")
    p.add_argument(
        "--progress-plot", metavar="FILE", help="plot the losses to FILE (e.g. a .png) at each checkpoint and the end"
    )


def _add_our_flags(p: argparse.ArgumentParser) -> None:
    d = DEFAULTS
    p.add_argument("--backend", choices=mg_backend.BACKENDS, default=d.backend, help="(default %(default)s)")
    p.add_argument("--seed", type=int, help="seed of the initial noise (default: unseeded)")
    p.add_argument(
        "--tf32",
        action="store_true",
        help="with --backend cupy: TF32 tensor-core matrix multiplies (faster, ~1e-3 relative error; default off)",
    )
    p.add_argument(
        "--progress",
        choices=MODES,
        default=d.progress,
        help="elapsed/remaining time display: auto shows it on a terminal only (default %(default)s)",
    )


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Neural style transfer (Gatys et al.) on minigrad.")
    _add_original_flags(p)
    _add_later_flags(p)
    _add_our_flags(p)
    cli_features.add_flags(p)
    return arguments.harden(p)  # no NaN or infinity in any float flag; --seed in 0..2**32 - 1


def config_from(args: argparse.Namespace) -> StyleConfig:
    fields = {f for f in StyleConfig.__dataclass_fields__ if hasattr(args, f)}
    return StyleConfig(**{f: getattr(args, f) for f in fields})


def check_args(args: argparse.Namespace, config: StyleConfig) -> None:
    """Everything that can be checked before any image or network is read."""
    try:
        config.validate(len(args.styles))
    except ConfigError as exc:
        raise ConfigError(flag_names(str(exc))) from None
    if args.tf32 and config.backend != "cupy":
        raise ConfigError("--tf32 needs --backend cupy")
    if args.width is not None and args.width <= 0:
        raise ConfigError(f"--width must be positive, got {args.width}")
    if args.style_scales is not None and len(args.style_scales) != len(args.styles):
        raise ConfigError(f"--style-scales: {len(args.style_scales)} scales for {len(args.styles)} styles")
    if args.style_scales is not None and min(args.style_scales) <= 0:
        raise ConfigError("--style-scales must be positive")
    if (args.checkpoint_output is None) != (args.checkpoint_iterations is None):
        raise ConfigError("use both --checkpoint-output and --checkpoint-iterations, or neither")
    if args.checkpoint_output is not None:
        arguments.check_checkpoint_pattern(args.checkpoint_output)
    mg_backend.array_module(config.backend)  # BackendError: unknown, or cupy without a CUDA device
    if args.tf32:
        mg_backend.allow_tf32()  # before any GEMM: CuPy reads its switch at the first one
    preflight.check_not_inputs(args, config)  # with or without --overwrite
    images.check_output(args.output, args.overwrite)
    preflight.check_checkpoint_files(args, config)
    _check_progress_files(args, config)
    cli_features.check_files(args, config)
    args.network = download.require_network(args.network)  # a bare name: the working directory, then the cache
    cli_features.check_resumed_files(args)


def _check_progress_files(args: argparse.Namespace, config: StyleConfig) -> None:
    if args.progress_write is not None:
        images.check_writable(args.progress_write, args.overwrite or cli_features.continues(args, "progress_write"))
    if args.progress_plot is not None:
        images.check_output(args.progress_plot, args.overwrite)
    taken = {os.path.abspath(args.output)}
    for flag, name in (("--progress-write", args.progress_write), ("--progress-plot", args.progress_plot)):
        if name is None:
            continue
        if os.path.abspath(name) in taken or preflight.is_checkpoint_file(args, config, name):
            raise ConfigError(f"{flag} {name} is also another output file")
        taken.add(os.path.abspath(name))


def read_images(args: argparse.Namespace, config: StyleConfig) -> tuple[Any, list[Any], Any]:
    """The images at the sizes the run uses; ImageError if one is too small, ConfigError if the run
    would not fit in memory (both before the network is loaded)."""
    content = images.load_image(args.content, args.width)
    hw = content.shape[:2] if args.width is None else images.width_hw(content.shape[:2], args.width)
    preflight.check_side("--content", args.content, hw)
    width, scales = hw[1], args.style_scales or [1.0] * len(args.styles)
    hint = int(min(max(config.scales), images.MAX_SIDE)) if config.scales else width  # widest the styles are needed
    originals = [images.load_image(p, max(1, int(min(s * hint, images.MAX_SIDE)))) for p, s in zip(args.styles, scales)]
    if config.scales:  # coarse to fine: resized at each scale instead (vgg.scales)
        cli_features.check_scale_sides(config, content)
    else:
        preflight.check_sizes(
            args, hw, [images.scaled_style_hw(s.shape[:2], width, k) for s, k in zip(originals, scales)]
        )
    preflight.check_memory(args, config, hw, originals)  # from the sizes: before any image is enlarged
    if args.width is not None:
        content = images.resize_to_width(content, args.width)
    styles = originals if config.scales else [images.scale_style(s, width, k) for s, k in zip(originals, scales)]
    initial = images.load_image(args.initial, hint) if args.initial else None
    return content, styles, initial


def load_network(args: argparse.Namespace, config: StyleConfig) -> Any:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = load_vgg19(args.network, pooling=config.pooling, backend=config.backend)
    for w in caught:
        print(f"{PROG}: warning: {w.message}", file=sys.stderr)
    return net


def listeners(args: argparse.Namespace, config: StyleConfig, loop: Run) -> list[Listener]:
    """What listens to the loop: the progress lines, the loss history and its plot, the run log, the resume
    states (a failing file is reported once and left out; the run goes on)."""
    files = [("--progress-write", config.progress_write, None), ("--progress-plot", None, config.progress_plot)]
    append = cli_features.continues(args, "progress_write")  # a resumed run goes on with its own file
    guarded = [
        safekeeping.Guarded(HistoryListener(w, p, args.overwrite, append and w is not None), flag, w or p)
        for flag, w, p in files
        if w or p
    ]
    return [ProgressListener(None, config.progress), *guarded, *cli_features.listeners(args, loop)]


def write_images(events: Iterator[Event], writer: safekeeping.Writer) -> int:
    """Each checkpoint to --checkpoint-output (iteration i filled in), the end to --output; the exit status."""
    for event in events:
        if isinstance(event, Checkpoint):
            writer.checkpoint(event.i, event.image)
        elif isinstance(event, End):
            return 0 if writer.result(event.image) == writer.output else 1
    return 0


def make_run(args: argparse.Namespace, config: StyleConfig) -> Run:
    """The run of the loop the flags ask for: inputs read, network loaded."""
    content, styles, initial = read_images(args, config)
    if config.backend == "numpy":
        mg_backend.reuse_host_memory()  # the same big arrays every iteration: skip the page faults
    net = load_network(args, config)
    resume = getattr(args, "resume_arrays", None)  # --resume: the state's arrays (cli_features.apply_resume)
    return Run(net, content, styles, initial, config, resume=resume, style_layers=args.log is not None)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    cli_features.apply_resume(args, vars(parser.parse_args([])))
    cli_features.require_inputs(args)
    config = config_from(args)
    check_args(args, config)
    loop = make_run(args, config)
    if args.dry_run:
        print(cli_features.dry_run_report(loop))
        return 0
    writer = safekeeping.Writer(args.output, args.checkpoint_output, args.overwrite)
    events = broadcast(loop.events(), listeners(args, config, loop))
    try:
        return write_images(events, writer)
    except MemoryError as exc:  # numpy's, and cupy's OutOfMemoryError, which derives from it
        print(
            f"{PROG}: error: {preflight.out_of_memory(args, config, loop.content, loop.styles)} ({exc})",
            file=sys.stderr,
        )
        return 2
    except LossNotFiniteError as exc:
        return _not_finite(writer, exc)
    except (KeyboardInterrupt, safekeeping.Terminated) as exc:
        events.close()  # the listeners close: the status line is erased before our line
        return safekeeping.interrupted(exc, loop.best_image, writer)


def _not_finite(writer: safekeeping.Writer, exc: LossNotFiniteError) -> int:
    if exc.image is None:
        print(f"{PROG}: error: {exc}; no image had a finite loss, nothing saved", file=sys.stderr)
    elif writer.result(exc.image, "the best finite image") == writer.output:
        print(
            f"{PROG}: error: {exc}; saved the best finite image (loss {exc.loss:g}) to {writer.output}",
            file=sys.stderr,
        )
    return 1


def flag_names(message: str) -> str:
    """StyleConfig's field names in a message, as the flags a CLI user typed (learning_rate -> --learning-rate)."""
    for field in dataclasses.fields(StyleConfig):
        message = re.sub(rf"(?<![-\w/.'%]){field.name}\b", "--" + field.name.replace("_", "-"), message)
    return message


def main(argv: Sequence[str] | None = None) -> int:
    try:
        with safekeeping.sigterm_raises():
            parser = build_parser()
            return run(parser.parse_args(argv), parser)
    except SystemExit as exc:  # --help, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else 2
    except (StyleError, mg_backend.BackendError, OSError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError as exc:  # reading images or the network; the loop's own names the image size
        reason = str(exc) or type(exc).__name__  # an allocation that fails under `ulimit -v` may say nothing
        print(f"{PROG}: error: out of memory while reading the inputs ({reason})", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, safekeeping.Terminated) as exc:  # before the loop began: nothing to save
        code = safekeeping.EXIT[type(exc)]
        print(f"{PROG}: {'interrupted' if code == 130 else 'terminated'}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
