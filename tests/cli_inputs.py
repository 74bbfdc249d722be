"""The files a command-line test runs on, and the command line that names them.

``write_cli_inputs(root, layout)`` writes a synthetic network (tests/synthetic_vgg.py, 'old' or 'new'
layout) as ``vgg.mat``, a 16x20 content image as ``content.png`` and a style image as ``style.png``;
``cli_argv(root, out, iterations, *extra)`` is the stylize_cli argument list over them, every item a str;
``run_cli(capsys, argv)`` runs it in this process.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from synthetic_vgg import sample_image, write_vgg19_mat

import stylize_cli


def write_cli_inputs(root: Path, layout: str, style_hw: tuple[int, int] = (24, 24), style_mode: str = "RGB") -> Path:
    """vgg.mat, content.png (16x20) and style.png (``style_hw``, saved in ``style_mode``) in ``root``."""
    write_vgg19_mat(root / "vgg.mat", layout)
    Image.fromarray(sample_image(16, 20, seed=1).astype(np.uint8)).save(root / "content.png")
    Image.fromarray(sample_image(*style_hw, seed=2).astype(np.uint8)).convert(style_mode).save(root / "style.png")
    return root


def cli_argv(root: Path, out: object, iterations: int, *extra: object) -> list[str]:
    """--content, --styles, --output, --network and --iterations over the files in ``root``, then ``extra``."""
    base = ["--content", root / "content.png", "--styles", root / "style.png", "--output", out]
    return [str(a) for a in [*base, "--network", root / "vgg.mat", "--iterations", iterations, *extra]]


def run_cli(capsys, argv: list[str]) -> tuple[int, str]:
    """stylize_cli.main(argv) in this process: its exit status and everything it wrote on stderr."""
    code = stylize_cli.main(argv)
    return code, capsys.readouterr().err
