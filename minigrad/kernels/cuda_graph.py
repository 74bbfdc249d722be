"""Capture a function's GPU work once as a CUDA graph and replay it: one launch for hundreds.

Opt-in and off by default (no GPU run has proven it yet); cupy only. An iteration of the style
loop issues some 450 kernel launches, and up to 512x512 issuing them from Python takes longer
than running them. CuPy records every launch of a stream in capture mode into a graph instead of
running it; ``graph.launch()`` then replays all of them at the cost of one.

    use_stream_ordered_allocator(cupy)      # first, before the arrays of the run exist
    step = CapturedStep(body, cupy)          # runs body once eagerly, then captures it
    step()                                   # replays the graph on the current stream

What ``body`` must respect, because a replay repeats the recorded kernels on the recorded
addresses with the recorded scalar arguments:

- shapes and array addresses fixed from call to call: results go into arrays that exist before
  the capture (``buf[...] = value``), not into new arrays kept after it;
- every array it allocates is freed before it returns (CUDA cannot relaunch a graph that still
  holds its own allocations), which is why the stream-ordered allocator (cudaMallocAsync, whose
  allocations and frees become graph nodes) must be CuPy's allocator;
- no host scalar that changes between calls (Adam's per-step ``alpha``, computed on the host, is
  frozen at its capture-time value: Adam must stay outside until its scalars live on the device);
- no host-device transfer or synchronisation (``.item()``, ``.get()``, ``float(x)``).
"""

from __future__ import annotations

import gc
import re
from collections import Counter
from collections.abc import Callable
from typing import Any


class GraphError(RuntimeError):
    """The capture failed or is not supported here (one-line message)."""


def supported(xp: Any) -> bool:
    """True where stream capture exists (real CuPy on CUDA; not numpy, not the CPU stand-in)."""
    return _can_capture(xp) and hasattr(xp.cuda, "MemoryAsyncPool")


def _can_capture(xp: Any) -> bool:
    return hasattr(getattr(getattr(xp, "cuda", None), "Stream", None), "begin_capture")


def use_stream_ordered_allocator(xp: Any) -> Any:
    """Make cudaMallocAsync CuPy's allocator (graph-capturable allocations); returns the pool."""
    if not supported(xp):
        raise GraphError("CUDA graphs need CuPy on a CUDA device (stream capture, MemoryAsyncPool)")
    pool = xp.cuda.MemoryAsyncPool()
    xp.cuda.set_allocator(pool.malloc)
    return pool


class CapturedStep:
    """``body`` recorded as a CUDA graph; calling the object replays it on the current stream."""

    def __init__(self, body: Callable[[], None], xp: Any, warmup: int = 1) -> None:
        if not supported(xp):
            raise GraphError("CUDA graphs need CuPy on a CUDA device (stream capture, MemoryAsyncPool)")
        self.xp = xp
        self.stream = xp.cuda.Stream(non_blocking=True)  # capture needs one; it does not wait for the null stream
        xp.cuda.get_current_stream().synchronize()  # so everything queued before is done first
        with self.stream:
            for _ in range(warmup):  # compiles kernels, creates cuBLAS's workspace, optimiser state
                body()
            self.stream.synchronize()
            self.graph = _capture(body, self.stream)
        self.graph.upload(self.stream)
        self.stream.synchronize()

    def __call__(self) -> None:
        self.graph.launch()  # on the current stream: ordered with the eager work around it

    def node_counts(self) -> dict[str, int]:
        """How many graph nodes of each kind (KERNEL, MEMSET, MEM_ALLOC, ...) one replay runs."""
        return count_nodes(self.graph.debug_dot_str())


def count_launches(body: Callable[[], None], xp: Any) -> dict[str, int]:
    """The graph nodes (kernel launches, memsets, ...) that one call of ``body`` issues, by kind.

    ``body`` is captured once and never replayed, so none of the rules above apply but the last:
    its kernels do not run, only host-side state (an optimiser's step count) moves on.
    """
    if not _can_capture(xp):
        raise GraphError("counting launches needs CuPy's stream capture (a CUDA device)")
    stream = xp.cuda.Stream(non_blocking=True)
    xp.cuda.get_current_stream().synchronize()
    with stream:
        graph = _capture(body, stream)
    return count_nodes(graph.debug_dot_str())


def _capture(body: Callable[[], None], stream: Any) -> Any:
    stream.begin_capture()
    try:
        body()
        gc.collect()  # arrays held only by reference cycles must be freed inside the capture too
    except Exception as exc:
        _abandon(stream)
        raise GraphError(f"CUDA graph capture failed: {type(exc).__name__}: {exc}".splitlines()[0]) from exc
    try:
        return stream.end_capture()
    except Exception as exc:
        raise GraphError(f"CUDA graph capture failed at its end: {type(exc).__name__}: {exc}".splitlines()[0]) from exc


def _abandon(stream: Any) -> None:
    """End a failed capture so that the stream is usable again (its graph is dropped)."""
    try:
        stream.end_capture()
    except Exception:  # an invalidated capture ends with an error of its own: the first one is the news
        pass


_NODE_KINDS = ("KERNEL", "MEMSET", "MEMCPY", "MEM_ALLOC", "MEM_FREE", "HOST", "EVENT_RECORD", "WAIT_EVENT", "EMPTY")


def count_nodes(dot: str) -> dict[str, int]:
    """Nodes in cudaGraphDebugDotPrint's output, in all and by the first kind each one's statement names.

    A node statement starts a line with its name, quoted or not, and its attribute list (``"g_node_3"[...``);
    its label, which names the kind, may run over several lines; edge lines (``"a" -> "b"``) name no kind.
    """
    kinds = re.compile(r"\b(" + "|".join(sorted(_NODE_KINDS, key=len, reverse=True)) + r")\b")
    counts: Counter[str] = Counter()
    statements = re.split(r'\n(?="?(?!(?:graph|node|edge|subgraph|digraph)\b)[\w.]+"?\s*\[)', "\n" + dot)[1:]
    for statement in statements:
        found = kinds.search(statement)
        counts[found.group(1) if found else "other"] += 1
    return {"nodes": len(statements), **counts}
