"""A strong-Wolfe line search along one direction, over host floats only.

``phi(t)`` evaluates the objective at ``x + t * d`` and returns ``(f, f')`` with f' = g(x + t d) . d.
A step t is accepted when it decreases f enough (Armijo: f <= f0 + c1 t f'(0)) and the slope has
flattened (|f'(t)| <= c2 |f'(0)|): Nocedal and Wright, Numerical Optimization, algorithms 3.5
(bracketing) and 3.6 (zoom), with trial points from a cubic fitted to f and f' at two points.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

C1, C2 = 1e-4, 0.9
MAX_EVALUATIONS = 25
EXTRAPOLATE = 10.0  # a bracketing trial goes at most this many times further than the last one


class Point(NamedTuple):
    t: float
    f: float
    slope: float


def cubic_minimizer(a: Point, b: Point, lo: float, hi: float) -> float:
    """The minimiser in [lo, hi] of the cubic through f and f' at a and b (exact for a quadratic).

    Nocedal and Wright (3.59); the middle of [lo, hi] when the cubic has no minimiser there.
    """
    d1 = a.slope + b.slope - 3 * (a.f - b.f) / (a.t - b.t)
    square = d1 * d1 - a.slope * b.slope
    if not square >= 0:  # also NaN
        return (lo + hi) / 2
    d2 = math.copysign(math.sqrt(square), b.t - a.t)
    denominator = b.slope - a.slope + 2 * d2
    if denominator == 0 or not math.isfinite(denominator):
        return (lo + hi) / 2
    t = b.t - (b.t - a.t) * (b.slope + d2 - d1) / denominator
    return min(max(t, lo), hi) if math.isfinite(t) else (lo + hi) / 2


class StrongWolfe:
    """One search: ``StrongWolfe(phi, f0, slope0)(t_initial)`` returns the accepted Point.

    c2 near 0 asks for the line's minimiser itself (found exactly on a quadratic, where the
    cubic is exact); 0.9, the usual choice for quasi-Newton methods, accepts most steps at once.

    When the evaluations run out it returns the lowest point that satisfied the Armijo condition,
    or t = 0 (no move) when none did. ``evaluations`` counts the calls of phi.
    """

    def __init__(
        self,
        phi: Callable[[float], tuple[float, float]],
        f0: float,
        slope0: float,
        c2: float = C2,
        max_evaluations: int = MAX_EVALUATIONS,
    ) -> None:
        self.phi, self.start, self.c2 = phi, Point(0.0, f0, slope0), c2
        self.max_evaluations, self.evaluations = max_evaluations, 0
        self.best = self.start

    def evaluate(self, t: float) -> Point:
        self.evaluations += 1
        f, slope = self.phi(t)
        point = Point(t, float(f), float(slope))
        if self.armijo(point) and point.f < self.best.f:
            self.best = point
        return point

    def armijo(self, p: Point) -> bool:
        return p.f <= self.start.f + C1 * p.t * self.start.slope

    def flat(self, p: Point) -> bool:
        return abs(p.slope) <= -self.c2 * self.start.slope

    def __call__(self, t: float) -> Point:
        previous = self.start
        while self.evaluations < self.max_evaluations:
            point = self.evaluate(t)
            if not self.armijo(point) or (previous is not self.start and point.f >= previous.f):
                return self.zoom(previous, point)
            if self.flat(point):
                return point
            if point.slope >= 0:
                return self.zoom(point, previous)
            t = cubic_minimizer(previous, point, point.t + 0.01 * (point.t - previous.t), EXTRAPOLATE * point.t)
            previous = point
        return self.best

    def zoom(self, lo: Point, hi: Point) -> Point:
        """lo satisfies Armijo with the lowest f so far; the accepted step lies between lo and hi."""
        while self.evaluations < self.max_evaluations:
            a, b = sorted((lo.t, hi.t))
            margin = 0.1 * (b - a)  # keep trials off the ends, so the bracket shrinks every time
            if margin <= 1e-12 * max(abs(a), abs(b), 1e-30):
                break
            point = self.evaluate(cubic_minimizer(lo, hi, a + margin, b - margin))
            if not self.armijo(point) or point.f >= lo.f:
                hi = point
                continue
            if self.flat(point):
                return point
            if point.slope * (hi.t - lo.t) >= 0:
                hi = lo
            lo = point
        return self.best
