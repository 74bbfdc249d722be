"""The benchmark iteration with its forward and backward pass replayed as one CUDA graph (opt-in).

    step = graph_step(512)        # cupy only: sets the stream-ordered allocator first
    step()                        # graph replay (forward, losses, backward) + Adam, synchronised

Adam stays outside the graph: its per-step alpha is a host scalar that a graph would freeze (see
minigrad/kernels/cuda_graph.py). The graph writes the image gradient and the total loss into
buffers that exist before the capture; Adam then reads the gradient from there.
"""

from __future__ import annotations

from collections.abc import Callable


def graph_parts(size: int) -> tuple:
    """(captured, finish, image, loss): replay with captured(), then finish() runs Adam on the result."""
    import cupy

    from benchmarks.workloads import minigrad_setup
    from minigrad.kernels import cuda_graph

    cuda_graph.use_stream_ordered_allocator(cupy)  # before the run's arrays exist
    objective, image, adam = minigrad_setup(size, "cupy")
    grad, loss = cupy.zeros_like(image.data), cupy.zeros((), image.data.dtype)

    def body() -> None:
        adam.zero_grad()
        losses = objective(image)
        losses.total.backward()
        grad[...] = image.grad
        loss[...] = losses.total.data.reshape(())
        adam.zero_grad()  # every array of the capture is freed inside it

    def finish() -> None:
        image.grad = grad
        adam.step()
        adam.zero_grad()

    return cuda_graph.CapturedStep(body, cupy), finish, image, loss


def graph_step(size: int) -> Callable[[], None]:
    """One iteration: the graph, then Adam, then a synchronisation (as workloads.minigrad_step)."""
    import minigrad as mg

    captured, finish, image, _ = graph_parts(size)

    def step() -> None:
        captured()
        finish()
        mg.backend.synchronize(image.data)

    return step
