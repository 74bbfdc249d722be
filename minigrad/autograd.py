"""The graph: Function nodes, the no-grad switch and the iterative backward pass."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from . import profiler
from .backend import backend_name, get_array_module

if TYPE_CHECKING:
    from .tensor import Tensor

_grad_enabled = True


def is_grad_enabled() -> bool:
    return _grad_enabled


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Inside this block ops build no graph and save nothing for backward."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def describe(arrays: tuple[Any, ...]) -> str:
    """'shape/dtype' of every input, for error messages."""
    return ", ".join(f"{tuple(a.shape)} {a.dtype}" for a in arrays)


class Function:
    """One op in the graph.

    Subclasses implement ``forward(*arrays)`` returning one array and ``backward(gy)``
    returning one gradient per input (None where ``needs_input_grad`` is False).
    ``forward`` keeps only what ``backward`` needs, via ``self.save(...)``; the saved
    arrays are dropped as soon as backward has passed the node.
    """

    needs_input_grad: tuple[bool, ...] = ()
    saved: tuple[Any, ...] | None = ()
    parents: tuple[Any, ...] = ()  # per input: the op that made it, the leaf Tensor itself, or None
    input_types: tuple[tuple[tuple[int, ...], Any], ...] = ()  # per input: (shape, dtype), to check gradients

    @property
    def name(self) -> str:
        return type(self).__name__

    def save(self, *arrays: Any) -> None:
        self.saved = arrays

    def release(self) -> None:
        self.saved = None
        self.parents = ()

    def fail(self, message: str, *arrays: Any, error: type = ValueError) -> Exception:
        """An error that names the op, what was wrong and every input's shape and dtype."""
        return error(f"{self.name}: {message} (inputs: {describe(arrays)})")

    def require_float(self, *arrays: Any) -> None:
        """TypeError for integer or bool inputs of an op whose result would have to be rounded to them."""
        if any(a.dtype.kind not in "fc" for a in arrays):
            raise self.fail(
                "needs a float dtype, its result would be rounded (e.g. astype float32)", *arrays, error=TypeError
            )

    def forward(self, *arrays: Any) -> Any:
        raise NotImplementedError

    def backward(self, gy: Any) -> tuple[Any, ...]:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Tensor, **params: Any) -> Tensor:
        from .tensor import Tensor

        fn = cls(**params)
        arrays = tuple(t.data for t in inputs)
        _check_same_backend(fn, arrays)
        record = _grad_enabled and any(t.requires_grad for t in inputs)
        fn.needs_input_grad = tuple(record and t.requires_grad for t in inputs)
        prof = profiler.active()
        if prof is None:
            y = fn.forward(*arrays)
        else:
            with prof.timed(fn.name, "forward", arrays[0]):
                y = fn.forward(*arrays)
        out = Tensor(y, requires_grad=record)
        if record:
            # edges to the ops that made the inputs, not to the input tensors: an intermediate
            # array is then freed as soon as nobody but the graph would have held it
            fn.parents = tuple(_node(t) if need else None for t, need in zip(inputs, fn.needs_input_grad))
            fn.input_types = tuple((a.shape, a.dtype) for a in arrays)
            out._ctx = fn
        else:
            fn.release()
        return out


def _check_same_backend(fn: Function, arrays: tuple[Any, ...]) -> None:
    if len(arrays) > 1:
        names = {backend_name(a) for a in arrays}
        if len(names) > 1:
            raise fn.fail(
                "inputs live on different backends "
                + "/".join(sorted(names))
                + "; move them to one with minigrad.backend.to_backend",
                *arrays,
                error=TypeError,
            )


def _node(t: Tensor) -> Any:
    """What a graph edge points at: the op that made t, or t itself when it is a leaf."""
    return t._ctx if t._ctx is not None else t


def _graph_consumers(root: Any) -> dict[int, int]:
    """How many recorded edges point at each node that needs a gradient (iterative DFS)."""
    counts: dict[int, int] = {}
    stack, seen = [root], {id(root)}
    while stack:
        node = stack.pop()
        if not isinstance(node, Function):
            continue
        if node.saved is None:
            raise RuntimeError(
                f"backward: the graph through {node.name} was already freed by an earlier backward(); "
                "compute the result again"
            )
        for parent in node.parents:
            if parent is None:
                continue
            counts[id(parent)] = counts.get(id(parent), 0) + 1
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    return counts


def _run_backward(fn: Function, gy: Any) -> tuple[Any, ...]:
    prof = profiler.active()
    if prof is None:
        return fn.backward(gy)
    with prof.timed(fn.name, "backward", gy):
        return fn.backward(gy)


def _check_gradients(fn: Function, grads: tuple[Any, ...]) -> None:
    """Each gradient an op returns has its input's shape and dtype, and none that is needed is missing."""
    if len(grads) != len(fn.parents):
        raise RuntimeError(f"backward: {fn.name} returned {len(grads)} gradients for its {len(fn.parents)} inputs")
    for i, (g, parent, expected) in enumerate(zip(grads, fn.parents, fn.input_types)):
        if parent is None:
            continue
        if g is None:
            raise RuntimeError(f"backward: {fn.name} returned no gradient for its input {i}, which needs one")
        if (g.shape, g.dtype) != expected:
            raise RuntimeError(
                f"backward: {fn.name} returned a gradient of {tuple(g.shape)} {g.dtype} for its input {i}, "
                f"which is {tuple(expected[0])} {expected[1]}"
            )


def _own(g: Any, handed: list[Any]) -> Any:
    """g, or a copy when it may share memory with another leaf's gradient.

    Ops hand one array to several inputs (x + y) and views of it (reshape, transpose); a leaf's
    .grad must be its own, so that changing one in place never changes another.
    """
    base = g if g.base is None else g.base
    if any(base is b for b in handed):
        g = g.copy()
        base = g
    handed.append(base)
    return g


def _seed_gradient(root: Tensor, grad: Any) -> Any:
    """d(root)/d(root): ones for a scalar, else the caller's gradient, checked and copied."""
    if grad is None:
        if root.size != 1:
            raise ValueError(f"backward: needs a scalar or an explicit gradient, got shape {root.shape}")
        return get_array_module(root.data).ones_like(root.data)
    if tuple(grad.shape) != root.shape or grad.dtype != root.dtype:
        raise ValueError(
            f"backward: the gradient must match the output, {root.shape} {root.dtype}; "
            f"got {tuple(grad.shape)} {grad.dtype}"
        )
    return grad.copy()  # the caller's array must not end up as some leaf's .grad


def backward(root: Tensor, grad: Any = None) -> None:
    """Reverse-mode sweep from ``root`` in topological order (Kahn's algorithm).

    Edges point at ops (or at leaf tensors), never at intermediate tensors, so an
    intermediate array lives only as long as a user or an op's saved state holds it.
    Leaf tensors that require a gradient get it added to ``.grad``. Intermediate
    gradients are dropped once consumed, and every op is released (saved arrays,
    parent links) right after its backward ran, so the graph cannot be replayed.
    """
    grad = _seed_gradient(root, grad)
    start = _node(root)
    consumers = _graph_consumers(start)
    pending = {id(start): grad}
    ready, handed = [start], []
    while ready:
        node = ready.pop()
        gy = pending.pop(id(node))
        if not isinstance(node, Function):
            node._accumulate(_own(gy, handed))
            continue
        grads = _run_backward(node, gy)
        del gy
        _check_gradients(node, grads)
        for parent, g in zip(node.parents, grads):
            if parent is None:
                continue
            key = id(parent)
            pending[key] = g if key not in pending else pending[key] + g
            consumers[key] -= 1
            if consumers[key] == 0 and key in pending:
                ready.append(parent)
        del grads
        node.release()
        node.input_types = ()
    # root._ctx stays: it is released now, so a second backward() from root raises, not no-ops
