"""Forward and backward passes per iteration of each optimiser: the factor vgg.style.timing's dry run uses.

Counts the loop's evaluations of the loss (vgg.style.loop._evaluate: one forward pass, and its backward pass
when differentiated) over a run of the examples' content and style on a full-width VGG-19 of random
weights, and prints the passes per iteration for Adam, L-BFGS and L-BFGS with the strong-Wolfe search.
A count, not a timing: the machine's load does not change it.

    python -m benchmarks.evaluations                  # 128x128, 100 iterations each
"""

from __future__ import annotations

import argparse
import sys

from benchmarks.common import markdown_table
from benchmarks.quality import scene
from vgg import Run, random_vgg19
from vgg.style import loop as driver
from vgg.style import pixels as images

SETTINGS = {
    "adam": {},
    "lbfgs": {"optimizer": "lbfgs"},
    "lbfgs+strong_wolfe": {"optimizer": "lbfgs", "line_search": "strong_wolfe"},
}


def passes(net, content, style, iterations: int, settings: dict) -> tuple[int, int]:
    """(forward passes, backward passes) of a run of ``iterations``, the first evaluation included."""
    counts = [0, 0]
    evaluate = driver._evaluate

    def counted(stage, grad=True):
        counts[0] += 1
        losses = evaluate(stage, grad)
        backward = losses.total.backward

        def counted_backward(*args, **kwargs):
            counts[1] += 1
            return backward(*args, **kwargs)

        losses.total.backward = counted_backward
        return losses

    driver._evaluate = counted
    try:
        styles = [images.scale_style(style, content.shape[1])]
        for _ in Run(net, content, styles, iterations=iterations, seed=0, **settings).events():
            pass
    finally:
        driver._evaluate = evaluate
    return counts[0], counts[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.evaluations", description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--iterations", type=int, default=100)
    p.add_argument("--channel-scale", type=float, default=1.0)
    args = p.parse_args(argv)
    net = random_vgg19(seed=0, channel_scale=args.channel_scale)
    content, style = scene(args.size)
    rows = []
    for name, settings in SETTINGS.items():
        forward, backward = passes(net, content, style, args.iterations, settings)
        rows.append([name, str(forward), str(backward), f"{forward / args.iterations:.3f}"])
    scale = f"random VGG-19 (channel scale {args.channel_scale:g})"
    print(f"{args.size}x{args.size}, {args.iterations} iterations, {scale}")
    print(markdown_table(["optimiser", "forward passes", "backward passes", "forward passes per iteration"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
