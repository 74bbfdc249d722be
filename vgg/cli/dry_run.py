"""--dry-run: the sizes of each scale, the estimated peak memory and the estimated time, nothing computed."""

from __future__ import annotations

from ..style import memory, scales
from ..style.run import Run
from ..style.timing import gemm_rate, seconds_per_iteration


def report(run: Run) -> str:
    """Sizes, estimated peak memory and seconds per iteration of the run, in a few lines."""
    config, sizes = run.config, []
    for stage in range(len(run.bounds)):
        content, styles = scales.stage_images(config, stage, run.content, run.styles)
        sizes.append((content.shape[:2], [s.shape[:2] for s in styles]))
    peak = max(
        memory.estimate_peak_bytes(hw, style_hws, backend=config.backend, optimizer=config.optimizer,
                                   dtype=run.net.dtype, history_size=config.lbfgs_history, pooling=config.pooling)
        for hw, style_hws in sizes
    )  # fmt: skip
    available = memory.available_bytes(config.backend)
    rate = gemm_rate(config.backend)
    channels = [run.net.channels[f"conv{block}_1"] for block in range(1, 6)]
    per_stage = seconds_per_iteration([hw for hw, _ in sizes], config.optimizer, config.line_search, rate, channels)
    after = -1 if run.resume is None else int(run.resume["iteration"])
    left = [max(0, end - max(first, after + 1)) for first, end in run.bounds]  # a resumed run's remaining ones
    total = sum(s * n for s, n in zip(per_stage, left))
    where = "host" if config.backend == "numpy" else "GPU"
    lines = [f"dry run: nothing computed; {config.optimizer} on {config.backend}, {run.schedule.n} iterations"]
    if run.resume is not None:
        lines[0] += f", resumed after iteration {after}"
    for (hw, _), seconds, n in zip(sizes, per_stage, left):
        lines.append(f"  {hw[1]}x{hw[0]}: {n} iterations, about {seconds:.3g} s each")
    free = "unknown" if available is None else memory.format_bytes(available)
    lines.append(f"  estimated peak {where} memory {memory.format_bytes(peak)} ({free} available)")
    lines.append(
        f"  estimated time about {total:.3g} s (FLOPs over a GEMM rate measured now: {rate / 1e9:.1f} GFLOP/s)"
    )
    return "\n".join(lines)
