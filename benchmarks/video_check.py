"""Flicker of a stylised clip: independent frames against Ruder et al.'s temporal method, and at chunk seams.

The clip is the project's own (vgg.video.synthetic: a textured scene that pans, zooms, then a square crossing a
still background; 24 frames by default), written as numbered PNG frames (no codec noise). Each method stylises
every frame for the same number of iterations:

- independent: each frame alone, from the same seeded noise;
- temporal: frame 0 from that noise, every later frame from the previous one warped, with the temporal loss;
- chunked (``--chunks C``): the temporal method in C chunks run one after another as separate workers would
  (none sees another's frames), each starting ``--lead`` frames before its range; per lead, the seam pairs
  (the last frame of a chunk, the first of the next) against the pairs inside the chunks. The first chunk's
  frames are the temporal run's own (from noise at frame 0, no lead): they are copied from it, not made again,
  and its seconds per frame are counted for them.

Flicker is the warping error (Lai et al. 2018), measured here as the issue defines it: the mean absolute
difference (0..255) between stylised frame t and stylised frame t-1 warped onto t by the content's flow, over
the pixels its consistency check marks reliable (vgg.video.measure). Lai et al.'s own number is the mean
*squared* difference of [0, 1] images: it is printed too (``mse01``) and is not comparable with the first.
Also seconds per frame (stylising and flow), and the flow's share of the temporal method's time.

    python -m benchmarks.video_check --quick                        # end-to-end at 48x32, seconds
    python -m benchmarks.video_check --size 256x192 --iterations 100 --chunks 3 --lead 0 2 4 8 --output out/
    python -m benchmarks.video_check --size 128x96 --sweep-weights 0 1e2 1e3 1e4 --sweep-iterations 25 50 100

``--network PATH`` uses a VGG-19 file (the real one for the figures); without it a VGG-19 of random weights
(full width, or ``--channel-scale``) stands in, whose styles mean nothing but whose optimisation is the same.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time

import numpy as np
from PIL import Image

from benchmarks.common import markdown_table
from vgg import Run, StyleConfig, load_image, load_network, random_vgg19, scale_style
from vgg.style.loop import End, LossesRead
from vgg.style.pixels import to_uint8
from vgg.video import measure
from vgg.video.assemble import finished
from vgg.video.driver import VideoStylizer
from vgg.video.kinds import FRAMES
from vgg.video.settings import VideoSettings
from vgg.video.source import open_source
from vgg.video.synthetic import synthetic_clip
from vgg.video.work import WorkFolder

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="128x96", help="frame size WxH (default 128x96)")
    p.add_argument("--frames", type=int, default=24)
    p.add_argument("--iterations", type=int, default=50, help="per frame, for every method (default 50)")
    p.add_argument("--first-iterations", type=int, default=None, help="frame 0 of the temporal method (default same)")
    p.add_argument("--temporal-weight", type=float, default=VideoSettings().temporal_weight)
    p.add_argument("--flow-preset", default="medium")
    p.add_argument("--chunks", type=int, default=0, help="also run the temporal method in this many chunks")
    p.add_argument("--lead", type=int, nargs="+", default=[0, 2, 4], help="lead-in frames of a chunk to compare")
    p.add_argument("--sweep-weights", type=float, nargs="*", help="instead: temporal error per weight")
    p.add_argument("--sweep-iterations", type=int, nargs="*", help="with --sweep-weights: per frame iterations")
    p.add_argument("--network", help="a VGG-19 file (default: random weights)")
    p.add_argument("--channel-scale", type=float, default=1.0, help="random network's channels (default 1)")
    p.add_argument("--style", default=os.path.join(EXAMPLES, "style.jpg"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", help="folder for results.json and strip.png")
    p.add_argument("--quick", action="store_true", help="48x32, 8 frames, 5 iterations, a tiny random network")
    args = p.parse_args(argv)
    if args.quick:
        args.size, args.frames, args.iterations, args.channel_scale = "48x32", 8, 5, 1 / 16
        args.chunks = args.chunks or 2
    args.w, args.h = (int(v) for v in args.size.lower().split("x"))
    return args


class Bench:
    """The clip, the network and the style, shared by every method."""

    def __init__(self, args: argparse.Namespace, folder: str) -> None:
        self.args, self.folder = args, folder
        frames = synthetic_clip(args.frames, args.h, args.w, seed=args.seed)
        os.makedirs(os.path.join(folder, "in"))
        for k, frame in enumerate(frames):
            Image.fromarray(frame).save(os.path.join(folder, "in", f"{k:04d}.png"))
        self.source = open_source(os.path.join(folder, "in", "%04d.png"), FRAMES, None, None)
        self.content = [f.astype(np.float32) for f in frames]
        self.net = load_network(args.network) if args.network else random_vgg19(0, channel_scale=args.channel_scale)
        self.style = scale_style(load_image(args.style), args.w)
        self.config = StyleConfig(iterations=args.iterations, seed=args.seed)

    def independent(self) -> tuple[list[np.ndarray], float]:
        """Each frame alone from the same noise; the frames and the seconds per frame."""
        cache, out, losses, began = {}, [], [], time.perf_counter()
        for content in self.content:
            run = Run(self.net, content, [self.style], None, self.config, target_cache=cache)
            events = list(run.events())
            out.append(to_uint8(next(e.image for e in events if isinstance(e, End))).astype(np.float32))
            losses.append(next(e.losses["total"] for e in reversed(events) if isinstance(e, LossesRead)))
        self.independent_loss = float(np.mean(losses))
        return out, (time.perf_counter() - began) / len(out)

    def temporal(self, name: str, weight: float, iterations: int, chunks: list[tuple[int, int]], lead: int,
                 reuse: dict | None = None) -> dict:  # fmt: skip
        """The temporal method over ``chunks`` ([start, end) ranges, one after another); frames and timings.
        ``reuse``: a whole temporal run of the same settings (its ``work`` and ``seconds_per_frame``), whose frames
        are those of the first chunk (from noise at frame 0, no lead): copied, not made again."""
        work = WorkFolder(os.path.join(self.folder, f"{name}.mp4"))
        work.open({"name": name}, overwrite=False)
        reused = 0.0
        if reuse is not None:
            for k in range(*chunks[0]):
                shutil.copy(reuse["work"].frame_path(k), work.frame_path(k))
            reused = reuse["seconds_per_frame"] * (chunks[0][1] - chunks[0][0])
        first = self.args.first_iterations or iterations
        settings = VideoSettings(weight, first, iterations, self.args.flow_preset, flow_workers=0)
        config = StyleConfig(iterations=iterations, seed=self.args.seed)
        stylizer = VideoStylizer(self.net, self.source, [self.style], config, settings, work)
        flow_s, frame_s, made, losses = 0.0, 0.0, 0, []
        for start, end in chunks:
            flow_s += stylizer.flows(start, end, lead).seconds
            began = time.perf_counter()
            done = list(stylizer.frames(start, end, lead))
            frame_s += time.perf_counter() - began
            made += len(done)
            losses += [d.losses["total"] - d.losses.get("temporal", 0.0) for d in done if d.kept]
        frames = [f.astype(np.float32) for f in finished(work, len(self.content))]
        return {"frames": frames, "seconds_per_frame": (flow_s + frame_s + reused) / len(frames), "work": work,
                "flow_seconds": flow_s, "frames_made": made, "flow_share": flow_s / (flow_s + frame_s),
                "style_loss": float(np.mean(losses))}  # fmt: skip

    def errors(self, frames: list[np.ndarray]) -> list[measure.PairError]:
        return measure.clip_errors(frames, self.content, self.args.flow_preset)


def chunk_ranges(n: int, chunks: int) -> list[tuple[int, int]]:
    bounds = np.linspace(0, n, chunks + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def summary(errors: list[measure.PairError], pairs: list[int] | None = None) -> dict:
    chosen = [errors[t - 1] for t in pairs] if pairs is not None else errors
    return {"mae": float(np.mean([e.mae for e in chosen])), "mse01": float(np.mean([e.mse01 for e in chosen])),
            "reliable": float(np.mean([e.reliable for e in chosen]))}  # fmt: skip


def compare(bench: Bench) -> dict:
    """Independent against temporal at the same iterations, then the chunked runs."""
    a = bench.args
    frames, seconds = bench.independent()
    results = {"independent": {**summary(bench.errors(frames)), "seconds_per_frame": seconds,
                               "style_loss": bench.independent_loss}}  # fmt: skip
    strips = {"content": bench.content, "independent": frames}
    whole = bench.temporal("temporal", a.temporal_weight, a.iterations, [(0, a.frames)], 0)
    results["temporal"] = {**summary(bench.errors(whole["frames"])), **_timing(whole)}
    strips["temporal"] = whole["frames"]
    if a.chunks > 1:
        ranges = chunk_ranges(a.frames, a.chunks)
        for lead in a.lead:
            # pair t is (t-1, t); around a seam at s: the cross-faded pairs s-lead .. s-1 and the seam pair s itself
            seams = sorted({t for start, _ in ranges[1:] for t in range(max(1, start - lead), start + 1)})
            inside = [t for t in range(1, a.frames) if t not in seams]
            run = bench.temporal(f"chunks-lead{lead}", a.temporal_weight, a.iterations, ranges, lead, whole)
            errors = bench.errors(run["frames"])
            results[f"chunks, lead {lead}"] = {"seam": summary(errors, seams), "inside": summary(errors, inside),
                                               **_timing(run)}  # fmt: skip
    return {"results": results, "strips": strips}


def _timing(run: dict) -> dict:
    return {k: run[k] for k in ("seconds_per_frame", "flow_share", "frames_made", "style_loss")}


def sweep(bench: Bench) -> dict:
    """The temporal method's warping error (and its last frame's losses) per weight and iterations."""
    out = {}
    for iterations in bench.args.sweep_iterations or [bench.args.iterations]:
        for weight in bench.args.sweep_weights:
            run = bench.temporal(f"sweep-{weight:g}-{iterations}", weight, iterations, [(0, bench.args.frames)], 0)
            name = f"weight {weight:g}, {iterations} iterations"
            out[name] = {**summary(bench.errors(run["frames"])),
                                                                   **_timing(run)}  # fmt: skip
            print(f"{name}: warping error {out[name]['mae']:.3f}, loss {out[name]['style_loss']:.4g}", flush=True)
    return out


def table(results: dict) -> str:
    rows = []
    for name, r in results.items():
        if "seam" in r:
            ratio = r["seam"]["mae"] / max(r["inside"]["mae"], 1e-12)
            rows.append([name, f"seam {r['seam']['mae']:.3f} / inside {r['inside']['mae']:.3f} = {ratio:.2f}x",
                         f"{r['seam']['mse01']:.2e} / {r['inside']['mse01']:.2e}", f"{r['seconds_per_frame']:.3f}",
                         f"{r['flow_share']:.1%}", f"{r['style_loss']:.4g}"])  # fmt: skip
        else:
            rows.append([name, f"{r['mae']:.3f}", f"{r['mse01']:.2e}", f"{r['seconds_per_frame']:.3f}",
                         f"{r.get('flow_share', 0):.1%}", f"{r['style_loss']:.4g}"])  # fmt: skip
    header = ["method", "warping error (MAE, 0..255)", "Lai et al. (MSE, [0,1])", "s / frame", "flow's share",
              "loss without temporal, mean per frame"]  # fmt: skip
    return markdown_table(header, rows)


def strip(strips: dict[str, list[np.ndarray]], path: str, columns: int = 6) -> None:
    """One row per method, ``columns`` frames spread over the clip."""
    rows = []
    for frames in strips.values():
        picks = np.linspace(0, len(frames) - 1, columns).round().astype(int)
        rows.append(np.concatenate([to_uint8(frames[k]) for k in picks], axis=1))
    Image.fromarray(np.concatenate(rows, axis=0)).save(path)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    with tempfile.TemporaryDirectory() as folder:
        bench = Bench(args, folder)
        if args.sweep_weights:
            bench.independent()
            print(f"independent: loss {bench.independent_loss:.4g}", flush=True)
            results, strips = sweep(bench), None
        else:
            done = compare(bench)
            results, strips = done["results"], done["strips"]
    print(f"{args.frames} frames of {args.w}x{args.h}, {args.iterations} iterations per frame, "
          f"temporal weight {args.temporal_weight:g}, flow {args.flow_preset}, "
          f"network {args.network or f'random (channel scale {args.channel_scale:g})'}")  # fmt: skip
    print(table(results))
    if args.output:
        os.makedirs(args.output, exist_ok=True)
        with open(os.path.join(args.output, "results.json"), "w", encoding="utf-8") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=1)
        if strips:
            strip(strips, os.path.join(args.output, "strip.png"))


if __name__ == "__main__":
    main()
