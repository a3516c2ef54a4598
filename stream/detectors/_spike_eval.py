"""The two decision rules of `agency_spike` (burst and ramp), with evidence that re-derives them.

Kept apart from the state handling in `agency_spike.py`; both functions read the detector's state and
return a `Finding` or None. The expected count of a burst window is summed hour by hour in the key's
local time so a window across midnight or into a weekend uses the right day level and hourly share.
"""

from __future__ import annotations

import math
from typing import Any

from stream.detectors._robust import DAY, HOUR, median, utc_offset
from stream.findings import Finding


def trimmed_mean(values: list[int], trim: float = 0.1) -> float:
    """Mean without the top and bottom `trim` share: a burst day or an outage day barely moves it."""
    if not values:
        return 0.0
    s = sorted(values)
    k = int(len(s) * trim)
    core = s[k : len(s) - k] or s
    return sum(core) / len(core)


def _is_weekend(day: int) -> bool:
    return (day + 3) % 7 >= 5  # day 0 (1970-01-01) was a Thursday


def daily_levels(det: Any, key: str, today: int) -> tuple[float, float, int] | None:
    """(weekday level, weekend level, days used), or None while the key's history is too short.
    The level is the larger of the trimmed mean of `baseline_days` and the median of the last three
    days, so a lasting step up (reported once by the ramp rule) stops raising hourly bursts."""
    ring = det.rings.get(key)
    if ring is None:
        return None
    start = today - det.p.baseline_days
    vals = ring.days(start, today)
    if len(vals) < det.p.min_history_days:
        return None
    lo = max(start, ring.first_day, ring.last_day - ring.n + 1)
    wd = [v for i, v in enumerate(vals) if not _is_weekend(lo + i)]
    we = [v for i, v in enumerate(vals) if _is_weekend(lo + i)]
    recent = median([float(v) for v in vals[-3:]])
    level_wd = max(trimmed_mean(wd or we), recent)
    if len(we) >= 2:
        level_we = trimmed_mean(we)
    else:  # no weekend seen yet: the brief's prior (federal investigators ~0.4x, patrol ~0.9x)
        name = det.meta[key][0].removeprefix("component:")
        level_we = level_wd * det.p.weekend_prior.get(name, det.p.weekend_prior.get("default", 1.0))
    return level_wd, level_we, len(vals)


def expected(det: Any, key: str, first: float, last: float, levels: tuple[float, float, int]) -> float | None:
    name, tz, _ = det.meta[key]
    prof = det.profiles.get(name)
    if prof is None:
        return None
    total, t = 0.0, first
    while t <= last:
        local = t + utc_offset(t, tz)
        weekend = _is_weekend(int(local // DAY))
        share = prof.share(weekend, int(local % DAY // HOUR))
        if share is None:
            return None
        total += (levels[1] if weekend else levels[0]) * share
        t += HOUR
    return total


def pop_add(det: Any, n_hours: int, day: int, ratio: float) -> None:
    """Every key's burst ratio goes into one histogram per window length and day (bins of 0.05)."""
    hist = det.pop.setdefault(str(n_hours), {}).setdefault(day, {})
    b = min(2000, int(ratio * 20))
    hist[b] = hist.get(b, 0) + 1


def _merge(days: dict[int, dict[int, int]], lo: int, hi: int) -> dict[int, int]:
    merged: dict[int, int] = {}
    for d, hist in days.items():
        if lo < d < hi:
            for b, c in hist.items():
                merged[b] = merged.get(b, 0) + c
    return merged


def pop_quantile(det: Any, n_hours: int, day: int) -> float:
    """High quantile of observed/expected over all keys in the last week (today's earlier windows
    only while the earlier days are too few, so the first day already calibrates): how far benign
    traffic strays from its expectation here. Over-dispersed traffic raises the bar; Poisson-clean
    traffic leaves the configured ratio."""
    p, days = det.p, det.pop.get(str(n_hours), {})
    merged = _merge(days, day - 7, day)  # earlier days only: a burst today must not raise its own bar
    if sum(merged.values()) < p.pop_min_samples:
        merged = _merge(days, day - 7, day + 1)
    total = sum(merged.values())
    if total < p.pop_min_samples:
        return 0.0
    seen = 0
    for b in sorted(merged):
        seen += merged[b]
        if seen >= p.pop_quantile * total:
            return (b + 1) / 20
    return 0.0


def burst_finding(
    det: Any, key: str, first: float, h: float, obs: int, n_hours: int, min_ratio: float
) -> Finding | None:
    p = det.p
    today = int(h // DAY)
    levels = daily_levels(det, key, today)
    exp = expected(det, key, first, h, levels) if levels else None
    if levels is None or exp is None:
        return None
    ratio = obs / exp if exp > 0 else math.inf
    ratios = det.ratios.setdefault(f"{key}|{n_hours}", {})
    own = det.own_ratio(f"{key}|{n_hours}", today)
    ratios[today] = max(ratios.get(today, 0.0), min(ratio, 1e6))
    pop = pop_quantile(det, n_hours, today)
    if exp >= p.pop_min_expected:
        pop_add(det, n_hours, today, ratio)
    if pop <= 0:
        return None  # warm-up: too few windows seen to know how far benign traffic strays
    young = 1.0 + p.level_uncertainty / math.sqrt(levels[2])
    thr_ratio = young * max(min_ratio, p.k_burst * own if own is not None else 0.0, p.pop_margin * pop)
    threshold = max(
        float(p.burst_floor), thr_ratio * exp, exp + p.burst_min_excess, exp + p.z_min * math.sqrt(exp)
    )
    carried = _carried_by_few(det, key, first, h)
    share = carried / obs if carried is not None and obs > 0 else None
    usual = det.top_share.get(f"{key}|{n_hours}")
    if obs >= threshold and levels[0] < p.small_level and ratio > p.small_max_ratio:
        return None  # an order-of-magnitude jump on a small base is a sweep (bulk_sweep), not volume
    if obs < threshold:
        if share is not None:  # learn how concentrated this key's traffic normally is
            det.top_share[f"{key}|{n_hours}"] = share if usual is None else 0.9 * usual + 0.1 * share
        return None
    if share is not None and carried is not None:
        # would the burst still be there without its top contributors? A uniform rise (more work
        # across the agency) keeps the rest high; a sweep by a few operators (or one ORI) does not
        rest_bar = (1 + thr_ratio) / 2 * exp * (1 - usual) if usual is not None else 0.2 * obs
        if obs - carried < rest_bar or _lopsided(det, key, first, h, obs - exp):
            return None
    end = h + HOUR
    ongoing = det.fired_until.get(key, -1.0) > first
    det.fired_until[key] = max(end, det.fired_until.get(key, -1.0))
    if ongoing:
        return None  # the same episode, already reported: extend it, one alert per burst
    name, _, immigration = det.meta[key]
    evidence = {
        "rule": "burst",
        "observed_value": obs,
        "baseline": round(exp, 3),
        "threshold": round(threshold, 3),
        "ratio": round(ratio, 3),
        "threshold_ratio": round(thr_ratio, 3),
        "own_usual_max_ratio": own,
        "population_ratio_quantile": pop,
        "young_level_factor": round(young, 4),
        "daily_level_weekday": levels[0],
        "daily_level_weekend": levels[1],
        "history_days": levels[2],
        "floor": p.burst_floor,
        "min_excess": p.burst_min_excess,
        "window_hours": n_hours,
        "profile": name,
        "top_contributors_share": None if share is None else round(share, 4),
        "usual_top_contributors_share": None if usual is None else round(usual, 4),
        **_top(det, key, first, h),
    }
    return _finding(
        det,
        key,
        "burst",
        first,
        end,
        immigration,
        evidence,
        f"{obs} queries in {n_hours} h, {ratio:.1f}x the expected {exp:.1f}.",
    )


def ramp_finding(det: Any, key: str, day: int) -> Finding | None:
    p = det.p
    ring = det.rings[key]
    last = det.ramp_last.get(key)
    if last is not None and day - last < p.ramp_cooldown_days:
        return None
    for recent_days, base_days, ratio in p.ramp_horizons:
        recent = ring.days(day - recent_days + 1, day + 1)
        base = ring.days(day - recent_days - base_days + 1, day - recent_days + 1)
        if len(recent) < recent_days or len(base) < math.ceil(p.ramp_coverage * base_days):
            continue
        rm, bm = median([float(v) for v in recent]), median([float(v) for v in base])
        threshold = max(ratio * max(bm, p.ramp_min_base), bm + p.ramp_min_excess)
        if rm >= threshold:
            det.ramp_last[key] = day
            start, end = float((day - recent_days + 1) * DAY), float((day + 1) * DAY)
            evidence = {
                "rule": "ramp",
                "observed_value": rm,
                "baseline": bm,
                "threshold": threshold,
                "ratio": round(rm / bm, 3) if bm > 0 else None,
                "threshold_ratio": ratio,
                "recent_days": recent_days,
                "baseline_days": base_days,
                "baseline_days_present": len(base),
                "min_excess": p.ramp_min_excess,
                "min_base": p.ramp_min_base,
                "recent_daily_totals": recent,
                **_top(det, key, start, end),
            }
            return _finding(
                det,
                key,
                "ramp",
                start,
                end,
                det.meta[key][2],
                evidence,
                f"Median {rm:.0f}/day over {recent_days} d vs {bm:.0f}/day over the {base_days} d before.",
            )
    return None


def _contributors(det: Any, key: str, first: float, last: float) -> dict[str, int]:
    """Queries per operator of an ORI, or per ORI of a component, in the window."""
    table = det.top.get(key, {}) if key.startswith("component:") else det.ops.get(key, {})
    counts: dict[str, int] = {}
    for t, per in table.items():
        if first <= t <= last:
            for who, n in per.items():
                counts[who] = counts.get(who, 0) + n
    return counts


def _carried_by_few(det: Any, key: str, first: float, last: float) -> int | None:
    """Queries of the busiest `concentration_top` operators of an ORI (only when it shows more than
    that many), or of the busiest ORI of a component; None when it cannot be told."""
    counts = _contributors(det, key, first, last)
    top = 1 if key.startswith("component:") else det.p.concentration_top
    if top == 0 or len(counts) <= top:
        return None
    return sum(sorted(counts.values(), reverse=True)[:top])


def _lopsided(det: Any, key: str, first: float, last: float, excess: float) -> bool:
    """Most of the excess sits with the top 1..k contributors, beyond their fair share of the window."""
    counts = sorted(_contributors(det, key, first, last).values(), reverse=True)
    total, n, carried = sum(counts), len(counts), 0
    for k, c in enumerate(counts[: max(1, det.p.concentration_top)], 1):
        carried += c
        if carried - total * k / n >= 0.6 * excess:
            return True
    return False


def _top(det: Any, key: str, first: float, last: float) -> dict[str, Any]:
    if not key.startswith("component:"):
        return {}
    counts: dict[str, int] = {}
    for t, per_ori in det.top.get(key, {}).items():
        if first <= t <= last:
            for ori, n in per_ori.items():
                counts[ori] = counts.get(ori, 0) + n
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    return {"top_oris": [[o, n] for o, n in top]}


def _finding(
    det: Any,
    key: str,
    rule: str,
    start: float,
    end: float,
    immigration: bool,
    evidence: dict[str, Any],
    summary: str,
) -> Finding:
    component = key.startswith("component:")
    top = evidence.get("top_oris") or []
    ori = top[0][0] if component and top else (None if component else key)
    label = key.split(":", 1)[1] + " (all ORIs)" if component else key
    return Finding(
        detector=det.kind,
        severity="high" if immigration else "warning",
        ori=ori,
        group_key=f"{key}|{rule}",
        window_start=start,
        window_end=end,
        title=f"Query volume {rule} for {label}",
        summary=summary,
        evidence={"key": key, "scope": "component" if component else "ORI", **evidence},
    )
