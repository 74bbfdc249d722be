"""The opt-in CUDA graph utility (minigrad/kernels/cuda_graph.py).

Its orchestration is checked here against a stand-in for CuPy's stream capture that records what
is called; the cupy test body captures a real minigrad computation and replays it (GPU only).
"""

from __future__ import annotations

import types

import numpy as np
import pytest

import minigrad as mg
from minigrad.kernels import cuda_graph


class _Recorder:
    """cupy.cuda as far as CapturedStep uses it: streams that capture, graphs that launch."""

    def __init__(self, fail_in_capture: bool = False) -> None:
        self.log: list[str] = []
        self.capturing = False
        self.fail = fail_in_capture
        recorder = self

        class Graph:
            def upload(self, stream):
                recorder.log.append("upload")

            def launch(self, stream=None):
                recorder.log.append("launch")

            def debug_dot_str(self):
                return '"g_node_0"[label="KERNEL"];\n"g_node_1"[label="MEMSET"];\n"g_node_0" -> "g_node_1";\n'

        class Stream:
            def __init__(self, non_blocking=False):
                assert non_blocking, "capture on a non-blocking stream"

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def synchronize(self):
                recorder.log.append("sync")

            def begin_capture(self):
                recorder.capturing = True
                recorder.log.append("begin")

            def end_capture(self):
                recorder.capturing = False
                recorder.log.append("end")
                return Graph()

        self.cuda = types.SimpleNamespace(
            Stream=Stream,
            MemoryAsyncPool=lambda: types.SimpleNamespace(malloc="async malloc"),
            set_allocator=lambda malloc: self.log.append(f"allocator {malloc}"),
            get_current_stream=lambda: Stream(non_blocking=True),
        )

    def body(self) -> None:
        self.log.append("body (captured)" if self.capturing else "body")
        if self.capturing and self.fail:
            raise RuntimeError("cudaErrorStreamCaptureUnsupported: operation not permitted\nwhen stream is capturing")


def test_a_step_runs_eagerly_then_is_captured_once_and_each_call_replays_it() -> None:
    xp = _Recorder()
    step = cuda_graph.CapturedStep(xp.body, xp, warmup=2)
    assert xp.log == ["sync", "body", "body", "sync", "begin", "body (captured)", "end", "upload", "sync"]
    del xp.log[:]
    step()
    step()
    assert xp.log == ["launch", "launch"]  # the body itself never runs again
    assert step.node_counts() == {"nodes": 2, "KERNEL": 1, "MEMSET": 1}


def test_a_failed_capture_ends_the_capture_and_says_why_in_one_line() -> None:
    xp = _Recorder(fail_in_capture=True)
    expected = "^CUDA graph capture failed: RuntimeError: cudaErrorStreamCaptureUnsupported: operation not permitted$"
    with pytest.raises(cuda_graph.GraphError, match=expected) as info:
        cuda_graph.CapturedStep(xp.body, xp)
    assert "\n" not in str(info.value)
    assert xp.log[-1] == "end" and not xp.capturing  # the stream is usable again


def test_the_stream_ordered_allocator_becomes_cupys() -> None:
    xp = _Recorder()
    cuda_graph.use_stream_ordered_allocator(xp)
    assert xp.log == ["allocator async malloc"]


def test_numpy_and_stand_ins_without_capture_are_refused_in_one_line() -> None:
    assert not cuda_graph.supported(np)
    for call in (lambda: cuda_graph.CapturedStep(lambda: None, np), lambda: cuda_graph.use_stream_ordered_allocator(np),
                 lambda: cuda_graph.count_launches(lambda: None, np)):  # fmt: skip
        with pytest.raises(cuda_graph.GraphError):
            call()


def test_graph_nodes_are_counted_by_kind_over_multi_line_labels() -> None:
    dot = (
        'digraph dot {\nsubgraph cluster_1 {\nlabel="graph_1" graph[style="dashed"];\n'
        '"graph_1_node_0"[style="solid" shape="record" label="{KERNEL\n| {ID | 0 | cupy_multiply}}"];\n'
        '"graph_1_node_1"[shape="rectangle" label="1\nMEM_ALLOC\nsize 512"];\n'
        '"graph_1_node_2"[label="2 MEMSET"];\n"graph_1_node_0" -> "graph_1_node_1";\n'
        '"graph_1_node_3"[label="{KERNEL | sgemm}"];\n"graph_1_node_4"[label="MEM_FREE"];\n}\n}\n'
    )
    assert cuda_graph.count_nodes(dot) == {"nodes": 5, "KERNEL": 2, "MEM_ALLOC": 1, "MEMSET": 1, "MEM_FREE": 1}
    unquoted = 'digraph g {\ngraph [rankdir=TB];\nn0 [label="SOMETHING_NEW"];\nn1 [label="KERNEL"];\nn0 -> n1;\n}'
    assert cuda_graph.count_nodes(unquoted) == {"nodes": 2, "other": 1, "KERNEL": 1}


def test_cupy_graph_replay_recomputes_a_minigrad_step(xp) -> None:
    if xp is np or not cuda_graph.supported(xp):
        pytest.skip("needs CuPy's stream capture on a CUDA device (not numpy, not the CPU stand-in)")
    cuda_graph.use_stream_ordered_allocator(xp)
    try:
        rng = np.random.default_rng(0)
        x = mg.Tensor(xp.asarray(rng.standard_normal((1, 9, 8, 3), np.float32)), requires_grad=True)
        w = mg.Tensor(xp.asarray(rng.standard_normal((3, 3, 3, 4), np.float32)))
        grad, loss = xp.zeros_like(x.data), xp.zeros((), np.float32)

        def body() -> None:
            x.grad = None
            y = mg.l2_loss(mg.max_pool(mg.relu(mg.conv2d(x, w)), 2, 2))
            y.backward()
            grad[...], loss[...] = x.grad, y.data
            x.grad = None

        step = cuda_graph.CapturedStep(body, xp)
        x.data *= 2  # in place: the graph reads the same address
        step()
        body_eager = mg.l2_loss(mg.max_pool(mg.relu(mg.conv2d(x, w)), 2, 2))
        body_eager.backward()
        np.testing.assert_allclose(loss.get(), body_eager.data.get(), rtol=1e-6)
        np.testing.assert_allclose(grad.get(), x.grad.get(), rtol=1e-6)
    finally:
        xp.cuda.set_allocator(xp.get_default_memory_pool().malloc)
