"""Loading time and peak memory of each weight format, on synthetic files of the real sizes.

    .venv/bin/python -m benchmarks.weights_check --dir /tmp/weights [--repeats 5] [--small] [--keep]

Writes VGG-19 random weights of the real shapes (conv layers and fc6-fc8: 25088x4096, 4096x4096,
4096x1000) into each format, with the tests' writers (tests/synthetic_*.py): the .mat (new layout,
about 535 MB), Keras's .h5 without the top (80 MB) and with it (575 MB), Oxford's .caffemodel (the old
'layers' format, packed data, 575 MB). Each file is read once untimed (so the page cache holds every
file alike), then loaded ``--repeats`` times, each in a fresh process:

- read: vgg.net.load.read_network(path), the reader alone;
- load: vgg.net.load.load_network(path), what the CLI does: read, MD5 of the whole file against the
  known releases, the VGG19 constants;
- protobuf (the .caffemodel only, where the package is installed): the protobuf package's
  NetParameter.FromString on the whole file, then the conv blobs as arrays: the peer that the
  streaming reader (vgg/net/protowire.py) is measured against.

"peak +MB" is the child's VmHWM minus its VmRSS after its imports (numpy, scipy, h5py, vgg); "x conv"
divides it by the conv weights' size (80.1 MB at full size). The issue's bound for the .caffemodel:
under 1.5x the conv weights plus what is read at once (one conv blob, at most 9.4 MB). ``--small``
writes tiny files to check the script (its figures mean nothing). The files stay in --dir with --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHUNK = 16 << 20
FILES = (
    ("mat", "imagenet-vgg-verydeep-19.mat"),
    ("keras", "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ("keras-top", "vgg19_weights_tf_dim_ordering_tf_kernels.h5"),
    ("caffe", "VGG_ILSVRC_19_layers.caffemodel"),
)


def _tests_on_path() -> None:
    sys.path.insert(0, os.path.join(ROOT, "tests"))


def write_files(directory: str, small: bool) -> dict[str, str]:
    """Each format's file in ``directory`` (written unless there from an earlier run of the same size)."""
    _tests_on_path()
    from synthetic_caffe import write_vgg19_caffemodel
    from synthetic_keras import write_vgg19_h5
    from synthetic_vgg import SMALL_CHANNELS, random_weights, write_vgg19_mat

    from vgg.net.layers import BLOCK_CHANNELS

    os.makedirs(directory, exist_ok=True)
    stamp, kind = os.path.join(directory, "weights_check.json"), "small" if small else "full"
    paths = {key: os.path.join(directory, name) for key, name in FILES}
    if _read_json(stamp).get("kind") == kind and all(os.path.exists(p) for p in paths.values()):
        return paths
    channels, fc = (SMALL_CHANNELS, (64, 10)) if small else (BLOCK_CHANNELS, (4096, 1000))
    weights = random_weights(channels, seed=0, fc=fc)
    writers = {
        "mat": lambda p: write_vgg19_mat(p, "new", weights=weights, published_mean=True),
        "keras": lambda p: write_vgg19_h5(p, weights, keras=1),
        "keras-top": lambda p: write_vgg19_h5(p, weights, keras=1, top=True),
        "caffe": lambda p: write_vgg19_caffemodel(p, weights, "v1", packed=True),
    }
    for key, path in paths.items():
        started = time.perf_counter()
        writers[key](path)
        print(f"wrote {path}: {os.path.getsize(path) / 1e6:.1f} MB in {time.perf_counter() - started:.0f} s")
    conv = sum(weights[n][0].nbytes + weights[n][1].nbytes for n in weights if n.startswith("conv"))
    with open(stamp, "w") as f:
        json.dump({"kind": kind, "conv_bytes": conv}, f)
    return paths


def _read_json(path: str) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _rss_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def child(how: str, path: str) -> None:
    """One load in this fresh process; prints {seconds, baseline, peak} (bytes)."""
    import h5py  # noqa: F401 (imported before the baseline, as every reader's imports are)
    import numpy as np

    from vgg.net.load import load_network, read_network

    messages = None
    if how == "protobuf":
        _tests_on_path()
        from caffe_proto import caffe_messages

        messages = caffe_messages()
    baseline = _rss_kib("VmRSS")
    started = time.perf_counter()
    if how == "read":
        read_network(path)
    elif how == "load":
        load_network(path)
    else:
        with open(path, "rb") as f:
            net = messages["NetParameter"].FromString(f.read())
        kernels = [np.array(x.blobs[0].data, np.float32) for x in net.layers if x.name.startswith("conv")]
        assert len(kernels) == 16
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "baseline": baseline * 1024, "peak": _rss_kib("VmHWM") * 1024}))


def _warm(path: str) -> None:
    with open(path, "rb") as f:
        while f.read(CHUNK):
            pass


def measure(how: str, path: str, repeats: int) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.weights_check", "--child", how, path]
    runs = []
    for _ in range(repeats):
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode or not lines:
            return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
        runs.append(json.loads(lines[-1]))
    rise = [r["peak"] - r["baseline"] for r in runs]
    seconds = [r["seconds"] for r in runs]
    return {"median_s": statistics.median(seconds), "min_s": min(seconds), "rise": statistics.median(rise),
            "peak": statistics.median(r["peak"] for r in runs)}  # fmt: skip


def _available(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def report(paths: dict[str, str], repeats: int, conv_bytes: int) -> str:
    """The table: every format with read and load; the protobuf package on the .caffemodel."""
    rows, peer = [], {}
    plan = [(key, how) for key in paths for how in ("read", "load")]
    if _available("google.protobuf"):
        plan.append(("caffe", "protobuf"))
    for key, how in plan:
        _warm(paths[key])
        result = measure(how, paths[key], repeats)
        if "error" in result:
            rows.append([key, how, "-", "-", "-", "-", "-", result["error"]])
            continue
        if key == "mat":
            peer[how] = result
        base = peer.get(how if how != "protobuf" else "read")
        ratio = f"{result['median_s'] / base['median_s']:.2f}x / {result['rise'] / base['rise']:.2f}x" if base else "-"
        size = f"{os.path.getsize(paths[key]) / 1e6:.1f}"
        rows.append([key, how, size, f"{result['median_s']:.3f}", f"{result['min_s']:.3f}",
                     f"{result['rise'] / 1e6:.0f}", f"{result['rise'] / conv_bytes:.2f}", ratio])  # fmt: skip
    header = ["file", "how", "MB", "median s", "min s", "peak +MB", "x conv", "vs .mat (time / memory)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", help="where the synthetic files are written (and kept with --keep)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--small", action="store_true", help="tiny files, to check the script")
    p.add_argument("--keep", action="store_true", help="leave the files in --dir")
    p.add_argument("--child", nargs=2, metavar=("HOW", "PATH"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(*args.child)
        return
    if not args.dir:
        p.error("--dir is required")
    paths = write_files(args.dir, args.small)
    conv_bytes = _read_json(os.path.join(args.dir, "weights_check.json"))["conv_bytes"]
    small = " (--small: the figures mean nothing)" if args.small else ""
    print(f"repeats: {args.repeats}, each in a fresh process, files warm in the page cache; "
          f"conv weights {conv_bytes / 1e6:.1f} MB{small}")  # fmt: skip
    print(report(paths, args.repeats, conv_bytes))
    if not args.keep:
        for path in [*paths.values(), os.path.join(args.dir, "weights_check.json")]:
            os.remove(path)


if __name__ == "__main__":
    main()
