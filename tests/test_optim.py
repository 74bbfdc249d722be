"""The optimisers: L-BFGS's two-loop direction against the explicit BFGS matrix, its convergence (a
quadratic, Rosenbrock against scipy), the strong-Wolfe search, and exact state_dict round trips."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest

import minigrad as mg
from minigrad import lbfgs, line_search
from minigrad.backend import to_numpy
from minigrad.optim import LBFGS, OPTIMIZERS, Adam


def explicit_inverse_hessian(pairs: list, gamma: float, n: int) -> np.ndarray:
    """BFGS's inverse-Hessian update applied pair by pair to H0 = gamma I, as a dense matrix."""
    h, eye = gamma * np.eye(n), np.eye(n)
    for s, y in pairs:
        rho = 1 / (y @ s)
        h = (eye - rho * np.outer(s, y)) @ h @ (eye - rho * np.outer(y, s)) + rho * np.outer(s, s)
    return h


def random_pairs(rng, n: int, k: int) -> list:
    """k pairs with y = B s for an SPD B, so every y.s > 0."""
    m = rng.standard_normal((n, n))
    b = m @ m.T + n * np.eye(n)
    pairs = []
    for _ in range(k):
        s = rng.standard_normal(n)
        pairs.append((s, b @ s))
    return pairs


def test_the_two_loop_direction_is_the_explicit_bfgs_product(xp, rng) -> None:
    n, k = 12, 7
    pairs, g = random_pairs(rng, n, k), rng.standard_normal(n)
    memory = lbfgs.History(size=k)
    for s, y in pairs:
        assert memory.add(xp.asarray(s), xp.asarray(y))
    s, y = pairs[-1]
    gamma = (s @ y) / (y @ y)
    expected = -explicit_inverse_hessian(pairs, gamma, n) @ g
    np.testing.assert_allclose(to_numpy(memory.direction(xp.asarray(g))), expected, rtol=1e-12, atol=1e-12)


def test_the_history_keeps_the_newest_pairs_and_skips_flat_ones(xp, rng) -> None:
    n, size = 6, 3
    memory = lbfgs.History(size)
    pairs = random_pairs(rng, n, 5)
    for s, y in pairs:
        memory.add(xp.asarray(s), xp.asarray(y))
    assert not memory.add(xp.asarray(pairs[0][0]), xp.asarray(-pairs[0][1]))  # y.s < 0: no curvature
    assert not memory.add(xp.asarray(np.full(n, 1e-6)), xp.asarray(np.full(n, 1e-6)))  # y.s = 6e-12
    assert len(memory.pairs) == size
    for (s, y, _), (s_expected, y_expected) in zip(memory.pairs, pairs[-size:]):
        np.testing.assert_array_equal(to_numpy(s), s_expected)
        np.testing.assert_array_equal(to_numpy(y), y_expected)
    s, y = pairs[-1]
    assert float(memory.gamma) == pytest.approx((s @ y) / (y @ y), rel=1e-15)


# ---- objectives over xp arrays: f and the gradient by hand, set as the params' .grad ----------------


class Quadratic:
    """0.5 x^T A x - b^T x with A's eigenvalues from 1 to 100 (condition number 100)."""

    def __init__(self, xp, rng, n: int) -> None:
        q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        self.a_host = q @ np.diag(np.logspace(0, 2, n)) @ q.T
        self.b_host = rng.standard_normal(n)
        self.a, self.b = xp.asarray(self.a_host), xp.asarray(self.b_host)
        self.solution = np.linalg.solve(self.a_host, self.b_host)

    def __call__(self, params: list) -> float:
        (x,) = params
        x.grad = self.a @ x.data - self.b
        return float(0.5 * x.data @ self.a @ x.data - self.b @ x.data)


def rosenbrock(params: list) -> float:
    """The extended Rosenbrock function of the parameters' values laid end to end (minimum at 1)."""
    xp = params[0].xp
    x = xp.concatenate([p.data.reshape(-1) for p in params])
    r, c = x[1:] - x[:-1] ** 2, 1 - x[:-1]
    g = xp.zeros_like(x)
    g[:-1] += -400 * x[:-1] * r - 2 * c
    g[1:] += 200 * r
    start = 0
    for p in params:
        p.grad = g[start : start + p.size].reshape(p.shape).copy()
        start += p.size
    return float((100 * r**2 + c**2).sum())


def run(optimizer, objective, steps: int) -> None:
    """The protocol: evaluate and backward at the current point, then step (with a closure)."""
    closure = lambda: objective(optimizer.params)  # noqa: E731
    for _ in range(steps):
        loss = closure()
        optimizer.step(closure, loss)


def test_lbfgs_with_line_minimisation_ends_on_a_quadratic_in_n_steps(xp, rng) -> None:
    # With an exact line search L-BFGS (history >= n) makes conjugate directions and ends in n steps;
    # a curvature constant near 0 makes the strong-Wolfe search find the line minimum (the cubic is
    # exact on a quadratic). With the default c2 = 0.9 the steps are inexact and that property is lost.
    n = 10
    quadratic = Quadratic(xp, rng, n)
    x = mg.Tensor(xp.zeros(n), requires_grad=True)
    optimizer = LBFGS([x], line_search="strong_wolfe", curvature=1e-6)
    run(optimizer, quadratic, n - 1)
    assert np.linalg.norm(to_numpy(x.data) - quadratic.solution) > 1e-6  # not there one step early
    run(optimizer, quadratic, 1)
    np.testing.assert_allclose(to_numpy(x.data), quadratic.solution, rtol=1e-9, atol=1e-9)


def test_lbfgs_with_the_default_search_converges_on_a_quadratic(xp, rng) -> None:
    n = 10
    quadratic = Quadratic(xp, rng, n)
    x = mg.Tensor(xp.zeros(n), requires_grad=True)
    run(LBFGS([x], line_search="strong_wolfe"), quadratic, 4 * n)
    np.testing.assert_allclose(to_numpy(x.data), quadratic.solution, rtol=1e-7, atol=1e-7)


def test_lbfgs_finds_scipys_rosenbrock_minimum_over_two_params(xp) -> None:
    scipy_optimize = pytest.importorskip("scipy.optimize", reason="scipy is the reference here")
    start = np.array([-1.2, 1.0, -1.2, 1.0])

    def host(x: np.ndarray) -> tuple[float, np.ndarray]:
        params = [mg.Tensor(x.copy(), requires_grad=True)]
        return rosenbrock(params), params[0].grad

    expected = scipy_optimize.minimize(host, start, jac=True, method="L-BFGS-B", options={"gtol": 1e-10}).x
    a = mg.Tensor(xp.array(start[:1]), requires_grad=True)
    b = mg.Tensor(xp.array(start[1:].reshape(1, 3)), requires_grad=True)
    run(LBFGS([a, b], line_search="strong_wolfe"), rosenbrock, 100)
    found = np.concatenate([to_numpy(a.data).reshape(-1), to_numpy(b.data).reshape(-1)])
    np.testing.assert_allclose(found, expected, atol=1e-6)
    np.testing.assert_allclose(found, np.ones(4), atol=1e-6)


def test_lbfgs_first_fixed_step_is_scaled_by_the_gradients_l1_norm(xp, rng) -> None:
    x0 = rng.standard_normal(5)
    x = mg.Tensor(xp.array(x0), requires_grad=True)
    rosenbrock([x])
    g = to_numpy(x.grad).copy()
    LBFGS([x], lr=0.5).step()
    np.testing.assert_allclose(to_numpy(x.data), x0 - 0.5 * min(1.0, 1.0 / np.abs(g).sum()) * g, rtol=1e-14)


def test_without_the_current_loss_the_search_evaluates_once_more_and_steps_the_same(xp) -> None:
    # step(closure) alone must learn f(x0) from the closure: one evaluation more than step(closure, loss),
    # and the same point afterwards (the caller that has the loss saves that evaluation)
    ends, calls = [], []

    def counted(x: mg.Tensor, count: list) -> Callable[[], float]:
        def closure() -> float:
            count[0] += 1
            return rosenbrock([x])

        return closure

    for pass_loss in (True, False):
        x = mg.Tensor(xp.array([-1.2, 1.0, 0.5]), requires_grad=True)
        optimizer, count = LBFGS([x], line_search="strong_wolfe"), [0]
        closure = counted(x, count)
        for _ in range(5):
            loss, count[0] = closure(), 0
            optimizer.step(closure, loss if pass_loss else None)
            calls.append((pass_loss, count[0]))
        ends.append(to_numpy(x.data))
    with_loss, without = [c for p, c in calls if p], [c for p, c in calls if not p]
    assert [b - a for a, b in zip(with_loss, without)] == [1] * 5 and min(with_loss) >= 1
    np.testing.assert_array_equal(ends[0], ends[1])


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_lbfgs_at_a_zero_gradient_stays_where_it_is(xp, line_search) -> None:
    # the first fixed step is scaled by 1/|g|_1: a zero gradient must not divide by zero
    x = mg.Tensor(xp.array([1.0, 1.0, 1.0]), requires_grad=True)  # Rosenbrock's minimum: g == 0 exactly
    optimizer = LBFGS([x], line_search=line_search)
    closure = lambda: rosenbrock([x])  # noqa: E731
    for _ in range(3):
        optimizer.step(closure, closure())
    np.testing.assert_array_equal(to_numpy(x.data), [1.0, 1.0, 1.0])
    x.data = xp.array([-1.2, 1.0, 0.5])  # and it goes on normally from a point with a gradient
    before = closure()
    optimizer.step(closure, before)
    assert rosenbrock([x]) < before


def test_the_line_search_needs_a_closure_and_the_arguments_are_checked(xp) -> None:
    x = mg.Tensor(xp.zeros(3), requires_grad=True)
    x.grad = xp.ones(3)
    with pytest.raises(ValueError, match="closure"):
        LBFGS([x], line_search="strong_wolfe").step()
    with pytest.raises(ValueError, match="line_search"):
        LBFGS([x], line_search="wolfe")
    with pytest.raises(ValueError, match="history_size"):
        LBFGS([x], history_size=0)
    with pytest.raises(ValueError, match="requires_grad"):
        Adam([mg.Tensor(xp.zeros(3))])
    assert OPTIMIZERS == ("adam", "lbfgs")


# ---- the strong-Wolfe search on its own ---------------------------------------------------------


def test_the_cubic_step_is_exact_on_a_quadratic() -> None:
    f = lambda t: (3 * (t - 0.7) ** 2 + 1, 6 * (t - 0.7))  # noqa: E731
    a, b = line_search.Point(0.0, *f(0.0)), line_search.Point(2.0, *f(2.0))
    assert line_search.cubic_minimizer(a, b, 0.0, 2.0) == pytest.approx(0.7, rel=1e-12)
    assert line_search.cubic_minimizer(a, b, 0.0, 0.5) == 0.5  # clamped to the interval


@pytest.mark.parametrize("t0", [1e-4, 1.0, 30.0])
def test_the_accepted_step_meets_both_wolfe_conditions(t0: float) -> None:
    phi = lambda t: (np.cos(t) + 0.1 * t * t, -np.sin(t) + 0.2 * t)  # noqa: E731  a few local minima
    f0, slope0 = phi(0.3)[0], phi(0.3)[1]
    search = line_search.StrongWolfe(lambda t: phi(0.3 + t), f0, slope0)
    point = search(t0)
    assert point.t > 0
    assert point.f <= f0 + line_search.C1 * point.t * slope0
    assert abs(point.slope) <= -line_search.C2 * slope0
    assert search.evaluations <= line_search.MAX_EVALUATIONS


# ---- state_dict: N steps == N/2, save (np.savez, no pickle), new optimizer, load, N/2 ---------------


def make_adam(params: list):
    return Adam(params, lr=0.05)


def make_lbfgs(params: list):
    return LBFGS(params, lr=0.1, history_size=3)


def make_lbfgs_wolfe(params: list):
    return LBFGS(params, history_size=3, line_search="strong_wolfe")


@pytest.mark.parametrize("make", [make_adam, make_lbfgs, make_lbfgs_wolfe], ids=["adam", "lbfgs", "lbfgs-wolfe"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_run_resumed_from_its_state_dict_is_bit_identical(xp, make, dtype) -> None:
    start, steps = np.array([-1.2, 1.0, 0.5, -0.3, 0.8, 1.1], dtype=dtype), 10
    whole = [mg.Tensor(xp.array(start[:2]), requires_grad=True), mg.Tensor(xp.array(start[2:]), requires_grad=True)]
    run(make(whole), rosenbrock, steps)

    halves = [mg.Tensor(xp.array(start[:2]), requires_grad=True), mg.Tensor(xp.array(start[2:]), requires_grad=True)]
    first = make(halves)
    run(first, rosenbrock, steps // 2)
    buffer = io.BytesIO()
    np.savez(buffer, **first.state_dict())
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as saved:
        state = dict(saved)
    resumed = [mg.Tensor(p.data.copy(), requires_grad=True) for p in halves]
    second = make(resumed)
    second.load_state_dict(state)
    run(second, rosenbrock, steps - steps // 2)
    for a, b in zip(whole, resumed):
        np.testing.assert_array_equal(to_numpy(a.data), to_numpy(b.data))


def test_a_state_dict_is_a_copy_and_a_wrong_one_is_refused(xp) -> None:
    x = mg.Tensor(xp.ones(4, dtype=np.float32), requires_grad=True)
    adam = Adam([x])
    x.grad = xp.ones(4, dtype=np.float32)
    adam.step()
    state = adam.state_dict()
    before = state["m.0"].copy()
    adam.step()
    np.testing.assert_array_equal(state["m.0"], before)  # not a view of the live moments
    assert all(isinstance(v, np.ndarray) for v in state.values())
    with pytest.raises(ValueError, match="keys differ"):
        Adam([x]).load_state_dict({k: v for k, v in state.items() if k != "v.0"})
    with pytest.raises(ValueError, match="'m.0' is"):
        Adam([x]).load_state_dict({**state, "m.0": np.zeros(5, np.float32)})
    with pytest.raises(ValueError, match="keys differ"):
        LBFGS([x]).load_state_dict(state)


# ---- Adam against tf.compat.v1.train.AdamOptimizer ----------------------------------------------


def tf_adam_trajectory(tf, grads: list, **settings) -> list:
    """The variable after each step of TF 1's Adam, fed the given gradients, from zeros (a graph of its own)."""
    graph = tf.Graph()
    with graph.as_default():
        var = tf.compat.v1.Variable(np.zeros_like(grads[0]))
        fed = tf.compat.v1.placeholder(grads[0].dtype, grads[0].shape)
        train = tf.compat.v1.train.AdamOptimizer(**settings).apply_gradients([(fed, var)])
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            trajectory = []
            for g in grads:
                session.run(train, {fed: g})
                trajectory.append(session.run(var))
    return trajectory


# float32: TF's kernel, ours the same arithmetic (equal to the bit on x86). float64: TF keeps the beta
# powers in float32, and 1 - beta2^t in float32 is off by 1.3e-5 at t = 1, 6.4e-6 after the sqrt.
ADAM_RTOL = {np.float32: 1e-6, np.float64: 3e-5}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_matches_tensorflow_with_gradients_from_1e_minus_9_to_1e4(xp, tf, dtype) -> None:
    # Each entry keeps its sign and magnitude (10^-9 .. 10^4, times 0.5 .. 2 per step), so no
    # update cancels and every entry is compared relatively. Epsilon (1e-8) dominates sqrt(v) for
    # the smallest ones: adding it to the bias-corrected sqrt(v) instead, or dropping the bias
    # correction, changes their steps by far more than these tolerances.
    rng, shape, steps = np.random.default_rng(9), (4, 64), 8
    scale = 10.0 ** rng.uniform(-9, 4, shape) * rng.choice([-1.0, 1.0], shape)
    scale.flat[:2] = 1e-9, -1e4
    grads = [(scale * rng.uniform(0.5, 2.0, shape)).astype(dtype) for _ in range(steps)]
    expected = tf_adam_trajectory(tf, grads, learning_rate=0.01, beta1=0.9, beta2=0.999, epsilon=1e-8)
    x = mg.Tensor(xp.zeros(shape, dtype), requires_grad=True)
    adam = Adam([x], lr=0.01, beta1=0.9, beta2=0.999, epsilon=1e-8)
    for i, g in enumerate(grads):
        x.grad = xp.asarray(g)
        adam.step()
        got = to_numpy(x.data)
        np.testing.assert_allclose(got, expected[i], rtol=ADAM_RTOL[dtype], atol=0, err_msg=f"step {i + 1}")


def test_a_search_that_finds_no_lower_point_stays_and_starts_over(xp) -> None:
    x = mg.Tensor(xp.asarray(np.array([1.0, -2.0])), requires_grad=True)

    def misleading(params: list) -> float:  # reports a descent slope, but every step goes up
        (p,) = params
        p.grad = -p.data.copy() if float(p.data @ p.data) == 5.0 else p.data.copy()
        return float(p.data @ p.data)

    optimizer = LBFGS([x], line_search="strong_wolfe", history_size=5)
    optimizer.memory.add(xp.asarray([1.0, 0.0]), xp.asarray([2.0, 0.0]))
    run(optimizer, misleading, 1)
    np.testing.assert_array_equal(to_numpy(x.data), [1.0, -2.0])
    assert not optimizer.memory.pairs
