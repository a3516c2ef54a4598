"""What a key of `agency_spike` is expected to do: its daily level (its own recent days, weekday and
weekend apart), its peers' share of a day in each local hour, and how far all keys' windows stray from
their expectation (a population quantile of observed/expected that over-dispersed traffic raises).
"""

from __future__ import annotations

import math
from typing import Any

from stream.detectors._robust import DAY, HOUR, is_weekend, median, utc_offset

_MAX_BAND = 6  # [64m, ...): one band for the busiest keys


def trimmed_mean(values: list[int], trim: float = 0.1) -> float:
    """Mean without the top and bottom `trim` share: a burst day or an outage day barely moves it."""
    if not values:
        return 0.0
    s = sorted(values)
    k = int(len(s) * trim)
    core = s[k : len(s) - k] or s
    return sum(core) / len(core)


def daily_levels(det: Any, key: str, today: int) -> tuple[float, float, int, int] | None:
    """(weekday level, weekend level, days used, queries behind the level) from the days before
    `today`, or None while the key's history is too short. The weekday level is the larger of the
    trimmed mean of `baseline_days` and, once three days are known beyond them, the median of the last
    three, so a lasting step up (reported once by the ramp rule) stops raising hourly bursts."""
    ring = det.rings.get(key)
    if ring is None:
        return None
    start = today - det.p.baseline_days
    vals = ring.days(start, today)
    if len(vals) < det.p.min_history_days:
        return None
    lo = max(start, ring.first_day, ring.last_day - ring.n + 1)
    wd = [v for i, v in enumerate(vals) if not is_weekend(lo + i)]
    we = [v for i, v in enumerate(vals) if is_weekend(lo + i)]
    # with 3 days or fewer the median would be the same days as the mean, and one ramping day of two
    # would already lift the level (the burst rule must compare a rise with what came before it)
    recent = median([float(v) for v in vals[-3:]]) if len(vals) > 3 else 0.0
    level_wd = max(trimmed_mean(wd or we), recent)
    if len(we) >= 2:
        level_we = trimmed_mean(we)
    else:  # no weekend seen yet: the brief's prior (federal investigators ~0.4x, patrol ~0.9x)
        name = det.meta[key][0].removeprefix("component:")
        level_we = level_wd * det.p.weekend_prior.get(name, det.p.weekend_prior.get("default", 1.0))
    return level_wd, level_we, len(vals), sum(vals)


def hour_shares(
    det: Any, key: str, first: float, last: float, memo: dict[Any, Any]
) -> tuple[float, float, float] | None:
    """Summed peer shares of the window's weekday hours and weekend hours (local time), and the
    queries behind the profile; memoised per (peer group, zone, window) while one hour is closed."""
    name, tz, _ = det.meta[key]
    mk = (name, tz, first, last)
    if mk in memo:
        return memo[mk]  # type: ignore[no-any-return]
    prof = det.profiles.get(name)
    res: tuple[float, float, float] | None = None
    if prof is not None:
        wd = we = 0.0
        t = first
        while t <= last:
            local = t + utc_offset(t, tz)
            weekend = is_weekend(int(local // DAY))
            share = prof.share(weekend, int(local % DAY // HOUR))
            if share is None:
                break
            if weekend:
                we += share
            else:
                wd += share
            t += HOUR
        else:
            res = (wd, we, prof.total())
    memo[mk] = res
    return res


def pop_band(det: Any, exp: float) -> int | None:
    """Size band of a window's expectation: [m, 2m), [2m, 4m), ... with m = `pop_min_expected`
    (None below m). Poisson noise alone moves a window expecting 15 queries far more than one
    expecting 150, so each band keeps its own histogram of how far benign windows stray."""
    m = det.p.pop_min_expected
    if m <= 0 or exp < m:
        return None  # (no floor configured: one histogram for all sizes)
    return min(_MAX_BAND, int(math.log2(exp / m)))


def pop_add(det: Any, n_hours: int, day: int, ratio: float, exp: float | None = None) -> None:
    """Every key's burst ratio goes into one histogram per window length and day (bins of 0.05), and
    into the histogram of its expectation's size band."""
    b = min(2000, int(ratio * 20))
    band = pop_band(det, exp) if exp is not None else None
    for name in [str(n_hours)] if band is None else [str(n_hours), f"{n_hours}|{band}"]:
        hist = det.pop.setdefault(name, {}).setdefault(day, {})
        hist[b] = hist.get(b, 0) + 1


def _merge(days: dict[int, dict[int, int]], lo: int, hi: int) -> dict[int, int]:
    merged: dict[int, int] = {}
    for d, hist in days.items():
        if lo < d < hi:
            for b, c in hist.items():
                merged[b] = merged.get(b, 0) + c
    return merged


def pop_quantile(det: Any, n_hours: int, day: int, exp: float | None = None) -> tuple[float, int | None]:
    """High quantile of observed/expected over the last week's windows (today's earlier windows only
    while the earlier days are too few, so the first day already calibrates): how far benign traffic
    strays from its expectation here. Over-dispersed traffic raises the bar; Poisson-clean traffic
    leaves the configured ratio. Judged among windows of the same size band as `exp` (a busy office
    is not held to the noise of a small one), else the next smaller band with enough windows (a
    higher, safer bar), else all windows. Returns (quantile, band used; None = all windows)."""
    band = pop_band(det, exp) if exp is not None else None
    names: list[tuple[str, int | None]] = []
    if band is not None:
        names = [(f"{n_hours}|{b}", b) for b in range(band, -1, -1)]
    names.append((str(n_hours), None))
    for name, used in names:
        q = _quantile(det, det.pop.get(name, {}), day)
        if q is not None:
            return q, used
    return 0.0, None


def _quantile(det: Any, days: dict[int, dict[int, int]], day: int) -> float | None:
    p = det.p
    merged = _merge(days, day - 7, day)  # earlier days only: a burst today must not raise its own bar
    if sum(merged.values()) < p.pop_min_samples:
        merged = _merge(days, day - 7, day + 1)
    total = sum(merged.values())
    if total < p.pop_min_samples:
        return None
    seen = 0
    for b in sorted(merged):
        seen += merged[b]
        if seen >= p.pop_quantile * total:
            return (b + 1) / 20
    return None
