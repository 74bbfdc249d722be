"""Neural style transfer (Gatys et al.) on minigrad: VGG-19 from the weight files people have, and the loop.

Where things are: vgg.net (the network and its weight files), vgg.style (the algorithm), vgg.files (files on
disk), vgg.report (what listens to the loop), vgg.download (python -m vgg.download), vgg.cli (the command
line). The names below are the Python API the README documents.
"""

import os
from collections.abc import Callable, Sequence
from typing import Any

from minigrad import __version__

from .batch.progress import BatchProgress
from .batch.summary import Summary
from .errors import (
    ConfigError,
    ImageError,
    LossNotFiniteError,
    NetworkFileError,
    StateError,
    StyleError,
    UnknownNetworkWarning,
)
from .files.images import load_image, save_image
from .net.layers import VGG19_LAYERS
from .net.load import load_network, read_network
from .net.model import VGG19, random_vgg19
from .style.config import StyleConfig
from .style.losses import CONTENT_LAYERS, STYLE_LAYERS, Losses, Objective
from .style.pixels import scale_style
from .style.run import Run
from .stylize import stylize

load_vgg19 = load_network  # the name the README used before there were several weight formats


def stylize_batch(
    contents: Sequence[str | os.PathLike],
    styles: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    *,
    on_progress: Callable[[BatchProgress], None] | None = None,
    **options: Any,
) -> Summary:
    """Several contents, one style transfer each, as the command line's batch does (README, "Many images");
    vgg.cli.batch_run.stylize_batch, imported at the call so that ``import vgg`` loads no command line."""
    from .cli.batch_run import stylize_batch as run

    return run(contents, styles, output, on_progress=on_progress, **options)


__all__ = [
    "CONTENT_LAYERS",
    "STYLE_LAYERS",
    "VGG19",
    "VGG19_LAYERS",
    "ConfigError",
    "ImageError",
    "LossNotFiniteError",
    "Losses",
    "NetworkFileError",
    "Objective",
    "Run",
    "StateError",
    "StyleConfig",
    "StyleError",
    "UnknownNetworkWarning",
    "__version__",
    "load_image",
    "load_network",
    "load_vgg19",
    "read_network",
    "random_vgg19",
    "save_image",
    "scale_style",
    "stylize",
    "stylize_batch",
]
