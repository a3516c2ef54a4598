"""Significance of an `agency_spike` burst: how unlikely is this count if nothing changed?

The expected count of a window is the key's daily level (estimated from its own recent days) spread by
its peers' hourly shares. Two things make the observed count vary around it even without a spike:
Poisson noise, and the uncertainty of the level itself (one day of history is a sample of one). A
gamma-distributed rate (shape = events behind the level, plus an over-dispersion allowance for
day-to-day and hour-to-hour swings) mixed with Poisson noise gives a negative binomial; its upper tail
is the p-value. A burst is significant when that tail is below `alpha`, the false-alert budget per day
shared out over every key and window tested that day (Bonferroni), so a small-but-certain burst passes
while a tiny agency's 3 queries after a quiet week do not.
"""

from __future__ import annotations

import math

_MAX_TERMS = 20_000


def nb_size(
    history_events: float, dispersion: float, share: float = 1.0, profile_events: float = math.inf
) -> float:
    """Gamma shape of the expected rate: 1 / its relative variance, which adds the level's (the
    queries behind it), the hourly profile's (a share `share` of a day estimated from
    `profile_events` queries: binomial) and the extra over-dispersion."""
    profile_var = (1.0 - min(share, 1.0)) / (share * profile_events + 1.0) if share > 0 else 1.0
    return 1.0 / (1.0 / (history_events + 0.5) + profile_var + dispersion)


def dispersion_for(hours: int, day: float, hour: float) -> float:
    """Squared coefficient of variation of a window's rate beyond Poisson: a day-level swing every
    window shares, plus an hour-level swing that averages out over the window's hours."""
    return day + hour / max(1, hours)


def nb_tail(w: int, mean: float, size: float) -> float:
    """P(X >= w) for X negative binomial with this mean and size (size -> inf: Poisson)."""
    if w <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    q = mean / (size + mean)  # failure probability per trial
    log_t = (
        math.lgamma(w + size)
        - math.lgamma(size)
        - math.lgamma(w + 1)
        - size * math.log1p(mean / size)
        + w * math.log(q)
    )
    if log_t < -745:  # underflows: the tail is below any alpha we could use
        return 0.0
    term = math.exp(log_t)
    total, x = term, w
    for _ in range(_MAX_TERMS):
        ratio = (x + size) / (x + 1) * q
        term *= ratio
        total += term
        x += 1
        if term <= total * 1e-12:
            break
    else:  # the rest is bounded by a geometric series with the largest remaining ratio
        bound = max(ratio, q)
        total += term * bound / (1 - bound) if bound < 1 else 1.0
    return min(1.0, total)


def min_significant(mean: float, size: float, alpha: float) -> int:
    """Smallest count whose tail is at most `alpha` (the burst rule's significance threshold)."""
    lo = max(1, math.ceil(mean))
    if nb_tail(lo, mean, size) <= alpha:
        return lo
    hi = lo * 2
    while nb_tail(hi, mean, size) > alpha:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if nb_tail(mid, mean, size) <= alpha:
            hi = mid
        else:
            lo = mid
    return hi


def alpha_per_test(false_per_day: float, keys: int, windows: int) -> float:
    """Significance level of one (key, window, hour) test: the day's false-alert budget shared out."""
    return false_per_day / (24.0 * max(1, windows) * max(1, keys))
