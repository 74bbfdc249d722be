"""The files a batch test runs on: the CLI tests' network and style (tests/cli_inputs.py) and an album of small
contents, one corrupt if asked; ``batch_argv`` is the command line over them; ``read`` an output's pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from cli_inputs import write_cli_inputs
from PIL import Image
from synthetic_vgg import sample_image


def write_album(root: Path, n: int, broken: bool = False, size: tuple[int, int] = (16, 20)) -> Path:
    """vgg.mat and style.png in ``root``; ``root/album`` with img0.png ... (``size``: height, width) and, with
    ``broken``, broken.png (a PNG signature and nothing that decodes)."""
    write_cli_inputs(root, "new")
    album = root / "album"
    album.mkdir(exist_ok=True)
    for k in range(n):
        Image.fromarray(sample_image(*size, seed=10 + k).astype(np.uint8)).save(album / f"img{k}.png")
    if broken:
        (album / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    return root


def batch_argv(root: Path, output: object, iterations: int, *extra: object, content: object = None) -> list[str]:
    """--content (the album, or ``content``: a path or a list of them), --styles, --output, --network,
    --iterations, a fixed seed, no status line, then ``extra``."""
    content = [root / "album"] if content is None else content if isinstance(content, list) else [content]
    base = ["--content", *content, "--styles", root / "style.png", "--output", output, "--network", root / "vgg.mat"]
    return [str(a) for a in [*base, "--iterations", iterations, "--seed", 7, "--progress", "never", *extra]]


def read(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))
