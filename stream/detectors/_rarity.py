"""Small, dependency-free statistics for rate detectors: tail probabilities and robust location/scale.

Detectors compare a requester's counts with what its own history or its peers make likely. Exact
binomial and Poisson upper tails (computed in log space) give one comparable "how surprising" number
whatever the volume; median and MAD keep one loud requester from moving its peers' baseline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

_LOG_TINY = -745.0  # below exp() underflow


def _log_add(a: float, b: float) -> float:
    if a < b:
        a, b = b, a
    return a + math.log1p(math.exp(b - a)) if b > _LOG_TINY else a


def poisson_sf(k: int, mu: float) -> float:
    """P(X >= k) for X ~ Poisson(mu)."""
    if k <= 0:
        return 1.0
    if mu <= 0:
        return 0.0
    log_term = k * math.log(mu) - mu - math.lgamma(k + 1)
    total = log_term
    i = k
    # Terms fall geometrically once i > mu; stop when they no longer change the sum.
    while True:
        i += 1
        log_term += math.log(mu) - math.log(i)
        if log_term < total - 40 or i > k + 100_000:
            break
        total = _log_add(total, log_term)
    return min(1.0, math.exp(total))


def binom_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    lp, lq = math.log(p), math.log1p(-p)
    log_c = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
    log_term = log_c + k * lp + (n - k) * lq
    total = log_term
    for i in range(k + 1, n + 1):
        log_term += math.log(n - i + 1) - math.log(i) + lp - lq
        if log_term < total - 40:
            break
        total = _log_add(total, log_term)
    return min(1.0, math.exp(total))


def logit(p: float, eps: float = 1e-4) -> float:
    p = min(max(p, eps), 1 - eps)
    return math.log(p / (1 - p))


def inv_logit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def shrunk_share(k: float, n: float) -> float:
    """Share with a half-count prior (Jeffreys-like), so tiny volumes do not give 0 or 1."""
    return (k + 0.5) / (n + 1.0)


def median(values: Sequence[float]) -> float:
    s = sorted(values)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def robust_center_scale(values: Sequence[float]) -> tuple[float, float]:
    """Median and MAD scaled to a normal sigma (1.4826 * MAD)."""
    med = median(values)
    return med, 1.4826 * median([abs(v - med) for v in values])
