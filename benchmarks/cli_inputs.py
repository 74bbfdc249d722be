"""Inputs for timing the CLI without a download: a full-size VGG-19 .mat of random weights and images.

    python benchmarks/cli_inputs.py DIR SIZE     # writes DIR/vgg.mat, DIR/content.png, DIR/style.png (SIZE x SIZE)

The .mat has VGG-19's real layers and channel counts (tests/synthetic_vgg.py writes it), so the CLI
does the same work as with the real weights; only the picture it paints is meaningless.
"""

from __future__ import annotations

import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from synthetic_vgg import sample_image, write_vgg19_mat  # noqa: E402

from vgg.net.layers import BLOCK_CHANNELS  # noqa: E402


def main() -> None:
    if len(sys.argv) != 3 or not sys.argv[2].isdigit():
        sys.exit("usage: python benchmarks/cli_inputs.py DIR SIZE")
    out, size = sys.argv[1], int(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    write_vgg19_mat(os.path.join(out, "vgg.mat"), "new", channels=BLOCK_CHANNELS, seed=0)
    for name, seed in (("content", 1), ("style", 2)):
        Image.fromarray(sample_image(size, size, seed).astype(np.uint8)).save(os.path.join(out, f"{name}.png"))


if __name__ == "__main__":
    main()
