"""--dry-run: the sizes of each scale, the estimated peak memory and the estimated time, nothing computed."""

from __future__ import annotations

from ..style import memory, plans, scales
from ..style.run import Run, choose_plan, estimate_settings
from ..style.timing import EVALUATIONS, gemm_rate


def report(run: Run) -> str:
    """Sizes, plans, estimated peak memory and seconds per iteration of the run, in a few lines."""
    config, stages = run.config, []
    settings = estimate_settings(config, run.net)
    for stage in range(len(run.bounds)):
        content, styles = scales.stage_images(config, stage, run.content, run.styles)
        plan = choose_plan(config, run.net, content, styles)
        hw, style_hws = content.shape[:2], [s.shape[:2] for s in styles]
        stages.append((hw, style_hws, plan, plans.run_peak_bytes(hw, style_hws, plan, config.memory_limit, **settings)))
    available = memory.available_bytes(config.backend)
    rate = gemm_rate(config.backend)
    channels = [run.net.channels[f"conv{block}_1"] for block in range(1, 6)]
    factor = EVALUATIONS[
        config.optimizer if config.line_search == "none" else f"{config.optimizer}+{config.line_search}"
    ]
    after = -1 if run.resume is None else int(run.resume["iteration"])
    left = [max(0, end - max(first, after + 1)) for first, end in run.bounds]  # a resumed run's remaining ones
    per_stage = [factor * plans.flops(hw, plan, channels) / rate for hw, _, plan, _ in stages]
    total = sum(s * n for s, n in zip(per_stage, left))
    where = "host" if config.backend == "numpy" else "GPU"
    lines = [f"dry run: nothing computed; {config.optimizer} on {config.backend}, {run.schedule.n} iterations"]
    if run.resume is not None:
        lines[0] += f", resumed after iteration {after}"
    for (hw, _, plan, peak), seconds, n in zip(stages, per_stage, left):
        how = "the whole graph" if plan is None else plan.describe(hw[0])
        lines.append(f"  {hw[1]}x{hw[0]}: {n} iterations, about {seconds:.3g} s each; {how}; "
                     f"estimated peak {where} memory {memory.format_bytes(peak)}")  # fmt: skip
    hw, style_hws, plan, peak = stages[-1]
    if config.backend == "numpy" and plan is not None:
        if plans.keeps_heap(hw, style_hws, plan, config.memory_limit, **settings):
            lines.append("  the heap kept for reuse (faster; the budget has room for what it holds)")
        else:
            lines.append("  the heap left at glibc's defaults (no room to keep it): slower, page faults each iteration")
    free = "unknown" if available is None else memory.format_bytes(available)
    budget = "" if config.memory_limit is None else f", budget {memory.format_bytes(config.memory_limit)}"
    lines.append(f"  estimated peak {where} memory {memory.format_bytes(max(p for *_, p in stages))} "
                 f"({free} available{budget})")  # fmt: skip
    lines.append(
        f"  estimated time about {total:.3g} s (FLOPs over a GEMM rate measured now: {rate / 1e9:.1f} GFLOP/s)"
    )
    return "\n".join(lines)
