"""The Beta distribution's CDF and quantile, without SciPy (docs/verdicts.md, "The ledger").

The regularized incomplete beta ``I_x(a, b)`` is evaluated by its continued fraction
(modified Lentz, as in Numerical Recipes' ``betacf``), on the side of ``x`` where it
converges fast; the quantile inverts it by bisection, narrowed with Newton steps
where they stay inside the bracket.

>>> round(beta_cdf(0.5, 2.0, 3.0), 6)
0.6875
>>> round(beta_quantile(0.95, 1.0, 1.0), 6)
0.95
"""

from __future__ import annotations

import math

__all__ = ["beta_cdf", "beta_interval", "beta_quantile"]

_EPS = 3e-13
_TINY = 1e-300


def _continued_fraction(x: float, a: float, b: float) -> float:
    """The continued fraction of ``I_x(a, b)`` (converges for ``x < (a + 1) / (a + b + 2)``)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < _EPS:
            break
    return h


def _log_front(x: float, a: float, b: float) -> float:
    """``log(x^a (1-x)^b / B(a, b))``."""
    return (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )


def beta_cdf(x: float, a: float, b: float) -> float:
    """``P(X <= x)`` for ``X ~ Beta(a, b)`` (the regularized incomplete beta ``I_x(a, b)``).

    Raises:
        ValueError: ``a`` or ``b`` is not positive.
    """
    if not (a > 0 and b > 0):
        raise ValueError(f"Beta parameters must be positive, not {a!r}, {b!r}")
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(_log_front(x, a, b))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _continued_fraction(x, a, b) / a
    return 1.0 - front * _continued_fraction(1.0 - x, b, a) / b


def _density(x: float, a: float, b: float) -> float:
    return math.exp(_log_front(x, a, b)) / (x * (1.0 - x))


def _normal_quantile(q: float) -> float:
    """Abramowitz and Stegun 26.2.23: the standard normal quantile to within 4.5e-4."""
    p = min(q, 1.0 - q)
    t = math.sqrt(-2.0 * math.log(p))
    z = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (
        1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t**3
    )
    return z if q > 0.5 else -z


def _first_guess(q: float, a: float, b: float) -> float:
    """The normal approximation's quantile, kept inside (0, 1) (else the mean)."""
    mean = a / (a + b)
    sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))
    x = mean + _normal_quantile(q) * sd
    lower, upper = q < 0.5 and a < 1.0, q > 0.5 and b < 1.0
    if 0.0 < x < 1.0 and not (lower or upper):
        return x
    # Near 0, I_x(a, b) ~ x^a / (a B(a, b)) (near 1 likewise): a tail the normal misses.
    log_beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    if q < 0.5:
        x = math.exp((math.log(q * a) + log_beta) / a)
    else:
        x = 1.0 - math.exp((math.log((1.0 - q) * b) + log_beta) / b)
    return x if 0.0 < x < 1.0 else mean


def beta_quantile(q: float, a: float, b: float, *, tolerance: float = 1e-9) -> float:
    """The ``x`` with ``I_x(a, b) = q``, to within ``tolerance`` relative to ``min(x, 1 - x)``.

    Raises:
        ValueError: ``q`` is outside [0, 1], or ``a`` or ``b`` is not positive.
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"a quantile's probability must be within [0, 1], not {q!r}")
    if q == 0.0:
        return 0.0
    if q == 1.0:
        return 1.0
    low, high = 0.0, 1.0
    x = _first_guess(q, a, b)
    for _ in range(2000):
        error = beta_cdf(x, a, b) - q
        if error > 0:
            high = x
        else:
            low = x
        scale = max(min(x, 1.0 - x), _TINY)  # relative: a quantile may be 1e-12 or 1 - 1e-12
        if high - low < tolerance * scale:
            break
        # A Newton step from x when it stays inside the bracket; halve the bracket otherwise.
        density = _density(x, a, b) if 0.0 < x < 1.0 else 0.0
        step = x - error / density if density > 0 else -1.0
        if abs(step - x) < tolerance * scale / 4:
            return min(max(step, low), high)
        x = step if low < step < high else (low + high) / 2.0
    return x


def beta_interval(
    a: float, b: float, mass: float = 0.9, *, boundary: float | None = None
) -> tuple[float, float]:
    """The credible interval holding ``mass`` of Beta(a, b): equal-tailed, or one-sided
    from ``boundary`` (0: ``[0, q(mass)]``; 1: ``[q(1 - mass), 1]``).

    Raises:
        ValueError: ``boundary`` is neither None, 0 nor 1.
    """
    if boundary == 0.0:
        return 0.0, beta_quantile(mass, a, b)
    if boundary == 1.0:
        return beta_quantile(1.0 - mass, a, b), 1.0
    if boundary is not None:
        raise ValueError(f"an interval's boundary is 0 or 1, not {boundary!r}")
    tail = (1.0 - mass) / 2.0
    return beta_quantile(tail, a, b), beta_quantile(1.0 - tail, a, b)
