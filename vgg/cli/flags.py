"""Every flag of the command line, in one place, grouped by topic for --help.

A flag that is a setting of the algorithm is declared by ``setting(group, field, help)``: its name, type,
choices and default come from StyleConfig's field (vgg.style.config), so a new setting is one field plus one
line here. The other flags are the command line's own (files, reports, the machine). Flags are parsed
with no defaults filled in, so that what was typed is known (``Parsed.given``); ``DEFAULTS`` fills the rest.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from ..errors import ConfigError
from ..report.terminal import MODES
from ..style.config import CHOICES, LEARNING_RATES, StyleConfig
from ..video.settings import FLOW_PRESETS, VideoSettings, parse_rate
from ..web.address import parse_address
from .console import PROG

SEED_MAX = 2**32 - 1  # numpy's legacy seeding range, which every reproducible tool accepts
NETWORK = "imagenet-vgg-verydeep-19.mat"  # the original's default (a bare name is looked for: vgg.net.discovery)
_FIELDS = {f.name: f for f in dataclasses.fields(StyleConfig)}
_SETTING_DEFAULTS = StyleConfig()
# The command line's own flags and their defaults (None: not given)
OWN_DEFAULTS: dict[str, Any] = {
    "content": None, "styles": None, "output": None, "initial": None, "network": NETWORK, "overwrite": False,
    "width": None, "checkpoint_output": None, "resume": None, "keep_states": 1, "progress": "auto",
    "progress_write": None, "progress_plot": None, "log": None, "dry_run": False, "tf32": False, "workers": None,
    "cluster": None, "web": None, "web_linger": 10.0,
}  # fmt: skip
VIDEO_DEFAULTS = VideoSettings()
VIDEO_FLAGS = tuple(f.name for f in dataclasses.fields(VideoSettings))  # each a flag, --temporal-weight ...
OWN_DEFAULTS.update({name: getattr(VIDEO_DEFAULTS, name) for name in VIDEO_FLAGS})


def finite_float(text: str) -> float:
    """argparse type: a float that is neither NaN nor infinite."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def seed_value(text: str) -> int:
    """argparse type: an integer seed in 0..2**32 - 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to {SEED_MAX}, got {value}")
    return value


UNITS = {"": 1, "B": 1, "K": 2**10, "KB": 2**10, "KIB": 2**10, "M": 2**20, "MB": 2**20, "MIB": 2**20,
         "G": 2**30, "GB": 2**30, "GIB": 2**30, "T": 2**40, "TB": 2**40, "TIB": 2**40}  # fmt: skip


def byte_size(text: str) -> int:
    """argparse type: a size in bytes, as 8GB, 512MB, 1.5G or 8000000000 (a unit is a power of 1024, as free -h)."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    unit = match[2].upper() if match else ""
    if not match or unit not in UNITS:
        raise argparse.ArgumentTypeError(f"expected a size such as 8GB, 500MB or 2e9, got {text!r}")
    value = float(match[1]) * UNITS[unit]
    if not 1 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"expected a size of at least 1 byte, got {text!r}")
    return int(value)


def frame_rate(text: str) -> Any:
    """argparse type: a frame rate, 24, 29.97 or 30000/1001."""
    try:
        return parse_rate(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def web_address(text: str) -> tuple[str, int]:
    """argparse type: [HOST:]PORT for --web (host 127.0.0.1 unless written out)."""
    try:
        return parse_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def seconds(text: str) -> float:
    """argparse type: a finite number of seconds, 0 or more."""
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more seconds, got {text!r}")
    return value


def nonempty(text: str) -> str:
    """argparse type: a path that is not empty (an empty one is no file, not the default)."""
    if text == "":
        raise argparse.ArgumentTypeError("expected a path, got an empty string")
    return text


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line, like every other error here."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {message} (see --help)\n")


def _default_text(value: Any) -> str:
    return (
        "off"
        if value is None or value is False
        else " ".join(map(str, value))
        if isinstance(value, list)
        else str(value)
    )


def setting(
    group: Any,
    field: str,
    help: str,  # noqa: A002
    *names: str,
    default_text: str | None = None,
    metavar: str | None = None,
    parse: Callable[[str], Any] | None = None,
) -> None:
    """A flag for StyleConfig's ``field``: --field-name (and ``names``), with the field's type and default
    (``parse``: how to read a value written otherwise, e.g. 8GB for a number of bytes)."""
    kind = str(_FIELDS[field].type).replace(" | None", "")
    options: dict[str, Any] = {"dest": field}
    many = kind.startswith("Sequence[")
    base = kind[len("Sequence[") : -1] if many else kind
    if base == "bool":
        options["action"] = "store_true"
    else:
        options["type"] = (
            parse or {"int": seed_value if field == "seed" else int, "float": finite_float, "str": str}[base]
        )
        options["nargs"] = "+" if many else None
        options["choices"] = CHOICES.get(field)
    if base != "bool" and field not in CHOICES:
        options["metavar"] = metavar or ("N" if base == "int" else "X")
    default = default_text or _default_text(getattr(_SETTING_DEFAULTS, field))
    flag = "--" + field.replace("_", "-")
    group.add_argument(flag, *names, help=f"{help} (default {default})", **options)


def _inputs(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("inputs and outputs")
    g.add_argument(
        "--content", nargs="+", metavar="CONTENT", type=nonempty,
        help="content image, a video, or numbered frames such as 'frames/%%05d.png' (required unless --resume); "
        "several files or folders make a batch (see --workers)",
    )  # fmt: skip
    g.add_argument("--styles", nargs="+", metavar="STYLE", type=nonempty, help="one or more style images")
    g.add_argument(
        "--output",
        metavar="OUTPUT",
        type=nonempty,
        help="output image (or video, or numbered frames); its extension names the format",
    )
    g.add_argument("--initial", metavar="INITIAL", type=nonempty, help="initial image (default: Gaussian noise)")
    g.add_argument(
        "--network", metavar="VGG_PATH", type=nonempty,
        help="VGG-19 weights: MatConvNet's .mat, Keras's .h5 or Oxford's .caffemodel (default: the first of their "
        "file names found in the working directory, where python -m vgg.download puts it, ~/.keras/models or "
        "./models; a bare file name is looked for in the same places)",
    )  # fmt: skip
    g.add_argument("--overwrite", action="store_true", help="replace existing output files (never an input)")


def _sizes(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("image sizes and coarse to fine")
    g.add_argument("--width", type=int, metavar="W", help="resize the content image to this width (default its own)")
    setting(g, "style_scales", "style i is resized by S_i * content width / its width", default_text="1.0 each",
            metavar="S")  # fmt: skip
    setting(g, "scales", "coarse to fine: the content widths of the scales, ascending; not with --width", metavar="W")
    setting(g, "scale_iterations", "with --scales: iterations at each scale", default_text="--iterations at each")


def _losses(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("the losses")
    setting(g, "content_weight", "weight of the content loss")
    setting(g, "content_weight_blend", "content layers: relu4_2 * blend + relu5_2 * (1 - blend)")
    setting(g, "style_weight", "weight of the style loss")
    setting(g, "style_layer_weight_exp", "weight of each style layer = exp * the previous one, normalised to mean 1")
    setting(g, "style_blend_weights", "weight of each style, normalised to sum 1", default_text="1/n each")
    setting(g, "tv_weight", "weight of the total-variation loss")
    setting(g, "pooling", "VGG's pooling layers")


def _start(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("the starting image and the result's colours")
    setting(g, "initial_noiseblend", "share of noise blended into the initial image (or the content image)",
            default_text="1 without --initial, 0 with")  # fmt: skip
    setting(g, "seed", "seed of the initial noise, 0 to 2**32 - 1", default_text="drawn at random and recorded")
    setting(g, "preserve_colors", "keep the content's colours (luminance transfer)")


def _optimiser(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("the optimiser")
    setting(g, "iterations", "optimiser steps (with --scales: at each scale)")
    setting(g, "optimizer", "Adam (the seed's) or L-BFGS")
    lr = "{:g} with Adam, {:g} with L-BFGS".format(*LEARNING_RATES.values())
    setting(g, "learning_rate", "the optimiser's learning rate (L-BFGS: the step along its direction)", default_text=lr)
    setting(g, "beta1", "Adam's beta1")
    setting(g, "beta2", "Adam's beta2")
    setting(g, "epsilon", "Adam's epsilon", "--eps")
    setting(g, "lbfgs_history", "L-BFGS: curvature pairs kept")
    setting(g, "line_search", "L-BFGS: fixed steps, or a strong-Wolfe line search")


def _checkpoints(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("checkpoints and resume")
    g.add_argument(
        "--checkpoint-output", metavar="OUTPUT", type=nonempty,
        help="checkpoint file name with the 0-based iteration as %%s, %%05d or {:05} in the file name; the resume "
        "state goes beside each as NAME.state.npz",
    )  # fmt: skip
    setting(g, "checkpoint_iterations", "save the best image so far (and the state) every N iterations")
    g.add_argument("--resume", metavar="STATE", type=nonempty, help="continue the run saved in STATE (a .state.npz)")
    g.add_argument("--keep-states", type=int, metavar="N", help="keep the newest N resume states, 0 all (default 1)")


def _reports(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("reports")
    setting(g, "print_iterations", "print the losses every N iterations (always at the last)")
    g.add_argument(
        "--progress", choices=MODES, help="elapsed/remaining time line: auto on a terminal only (default auto)"
    )
    g.add_argument("--progress-write", metavar="FILE", type=nonempty, help="write the losses to FILE, tab-separated")
    g.add_argument("--progress-plot", metavar="FILE", type=nonempty, help="plot the losses to FILE (e.g. a .png)")
    g.add_argument("--log", metavar="FILE", type=nonempty, help="write the run as JSON lines to FILE")
    g.add_argument("--dry-run", action="store_true", help="check everything, print the estimates, compute nothing")


def _video(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "video (a video file, or numbered frames such as 'frames/%%05d.png', as --content; needs the video extra)"
    )
    d = VIDEO_DEFAULTS
    g.add_argument(
        "--temporal-weight",
        type=finite_float,
        metavar="X",
        help=f"weight of the temporal loss (Ruder et al.) (default {d.temporal_weight:g}: measured, a fifth of the "
        "flicker without it for 38%% more style and content loss; 1e4: less flicker for 67%% more loss)",
    )
    g.add_argument(
        "--first-frame-iterations",
        type=int,
        metavar="N",
        help="iterations of the first frame, from noise as a photo, which every later frame inherits (default "
        "--iterations)",
    )
    g.add_argument(
        "--frame-iterations",
        type=int,
        metavar="N",
        help=f"iterations of every later frame, from the previous one warped (default {d.frame_iterations}: "
        "measured, half the loss of a frame from noise after as many; 100 is better still at twice the time)",
    )
    g.add_argument(
        "--flow-preset",
        choices=FLOW_PRESETS,
        help=f"OpenCV DIS optical flow preset, on the content frames (default {d.flow_preset})",
    )
    g.add_argument(
        "--frame-rate",
        type=frame_rate,
        metavar="R",
        help="frames per second of numbered frames in (default 24; a video keeps its own)",
    )
    g.add_argument("--flow-workers", type=int, metavar="N",
                   help="processes computing the flow ahead, 0: none (default: one per core, at most 8)")  # fmt: skip
    g.add_argument("--frames-per-chunk", type=int, metavar="N",
                   help="split each video into chunks of N frames, one task each, that run side by side on --workers "
                   "or a --cluster (default there: all the videos' frames divided by the workers)")  # fmt: skip


def _page(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("the run's page in a browser")
    g.add_argument(
        "--web", metavar="[HOST:]PORT", type=web_address,
        help="serve a page of the run (the image, the losses, save and stop) at this port of 127.0.0.1 (0: a free "
        "one), or of HOST; its address, with its token, is printed at the start (default off)",
    )  # fmt: skip
    g.add_argument(
        "--web-linger", metavar="SECONDS", type=seconds,
        help="after the run, keep the page's server up until every open page shows the end, at most this long "
        f"(default {OWN_DEFAULTS['web_linger']:g})",
    )  # fmt: skip


def _machine(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("the machine")
    setting(g, "backend", "CPU (numpy) or CUDA GPU (cupy)")
    setting(g, "memory_limit", "the memory the run may use: the whole graph when it fits, else the cheapest plan "
            "that does (the first layers in strips); e.g. 8GB, 500MB", metavar="SIZE", parse=byte_size,
            default_text="what the machine has available (the GPU's free memory with --backend cupy)")  # fmt: skip
    g.add_argument("--tf32", action="store_true", help="with --backend cupy: TF32 matrix multiplies (~1e-3 error)")


def _batch(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "many images",
        "Several --content files, or folders (their images, sorted), make a batch: --output is a folder or has "
        "{name} (a content's file name without its extension) in it, and so do --checkpoint-output, "
        "--progress-write and --progress-plot; --log with {name} is each item's log, without it the batch's. "
        "An item whose output is there already is skipped (--overwrite redoes it).",
    )
    g.add_argument("--workers", type=int, metavar="N", help="run the items on N worker processes of this machine "
                   "(Dask; pip install -e '.[cluster]')")  # fmt: skip
    g.add_argument("--cluster", metavar="ADDRESS", type=nonempty, help="run the items on the running Dask "
                   "scheduler at ADDRESS, e.g. tcp://host:8786")  # fmt: skip


SECTIONS = (_inputs, _sizes, _losses, _start, _optimiser, _checkpoints, _reports, _video, _page, _machine, _batch)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description="Neural style transfer (Gatys et al.) on minigrad.",
        argument_default=argparse.SUPPRESS,  # absent flags stay absent: what was typed is known
    )
    for section in SECTIONS:
        section(p)
    return p


def setting_names() -> tuple[str, ...]:
    """StyleConfig's fields that are flags."""
    return tuple(a.dest for a in build_parser()._actions if a.dest in _FIELDS)


@dataclass(frozen=True)
class Parsed:
    """What the command line said: every flag's value (defaults filled in) and {dest: flag} of those typed."""

    values: dict[str, Any]
    given: dict[str, str]


def parse(argv: Sequence[str] | None = None) -> Parsed:
    """The flags; SystemExit (after one line, or --help) on a usage error."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    typed = vars(parser.parse_args(argv))
    flags = {a.dest: a.option_strings[0] for a in parser._actions if a.option_strings}
    settings = {name: getattr(_SETTING_DEFAULTS, name) for name in _FIELDS if name in flags}
    values = {**OWN_DEFAULTS, **settings, **typed}
    return Parsed(values, {dest: _as_typed(parser, argv, dest, flags[dest]) for dest in typed})


def from_options(options: Mapping[str, Any]) -> Parsed:
    """The Python API's keyword arguments as parsed flags: each a flag's name with _ for - (ConfigError for a name
    that is none), the defaults filled in, as ``parse`` does."""
    names = {a.dest: a.option_strings[0] for a in build_parser()._actions if a.option_strings and a.dest != "help"}
    unknown = sorted(set(options) - set(names))
    if unknown:
        raise ConfigError(f"{unknown[0]!r} is no option (the flags' names with _ for -: {', '.join(sorted(names))})")
    settings = {name: getattr(_SETTING_DEFAULTS, name) for name in _FIELDS if name in names}
    return Parsed({**OWN_DEFAULTS, **settings, **options}, {dest: names[dest] for dest in options})


def _as_typed(parser: argparse.ArgumentParser, argv: Sequence[str], dest: str, canonical: str) -> str:
    """The flag of ``dest`` as the user typed it (--eps for --epsilon), for messages."""
    names = next(a.option_strings for a in parser._actions if a.dest == dest)
    typed = [token.split("=", 1)[0] for token in argv if token.startswith("--")]
    return next((token for token in reversed(typed) if token in names), canonical)
