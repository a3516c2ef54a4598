"""The two decision rules of `agency_spike` (burst and ramp), with evidence that re-derives them.

Kept apart from the state handling in `agency_spike.py`; both functions read the detector's state and
return a `Finding` or None. The expected count of a burst window is summed hour by hour in the key's
local time so a window across midnight or into a weekend uses the right day level and hourly share.
"""

from __future__ import annotations

import math
from typing import Any

from stream.detectors._robust import DAY, HOUR, median
from stream.detectors._spike_level import daily_levels, hour_shares, pop_add, pop_band, pop_quantile
from stream.detectors._spike_stats import dispersion_for, min_significant, nb_size, nb_tail
from stream.findings import Finding


def burst_finding(
    det: Any, key: str, first: float, h: float, obs: int, n_hours: int, min_ratio: float, ctx: dict[str, Any]
) -> Finding | None:
    """`ctx` is shared by every key while one hour is closed: alpha, keys tested and a memo."""
    p = det.p
    levels = daily_levels(det, key, int(first // DAY))  # days before the window: it never baselines itself
    shares = hour_shares(det, key, first, h, ctx["memo"]) if levels else None
    if levels is None or shares is None:
        return None
    exp = levels[0] * shares[0] + levels[1] * shares[1]
    ratio = obs / exp if exp > 0 else math.inf
    today = int(h // DAY)
    ratios = det.ratios.setdefault(f"{key}|{n_hours}", {})
    own = det.own_ratio(f"{key}|{n_hours}", today)
    ratios[today] = max(ratios.get(today, 0.0), min(ratio, 1e6))
    memo, band = ctx["memo"], pop_band(det, exp)
    if ("pop", n_hours, band) not in memo:  # once per closed hour and band: it merges a week of histograms
        memo["pop", n_hours, band] = pop_quantile(det, n_hours, today, exp)
    pop, pop_band_used = memo["pop", n_hours, band]
    if exp >= p.pop_min_expected:
        pop_add(det, n_hours, today, ratio, exp)
    thr_ratio = max(min_ratio, p.k_burst * own if own is not None else 0.0, p.pop_margin * pop)
    usual = det.top_share.get(f"{key}|{n_hours}")
    if obs < thr_ratio * exp:
        if (h // HOUR + 1) % n_hours:
            return None  # usual spreads are learned once per window length, on disjoint windows
        carried = _carried_by_few(det, key, first, h)
        share = carried / obs if carried is not None and obs > 0 else None
        tops = _top_of_mix(det, key, first, h)
        if share is not None:  # learn how concentrated this key's traffic normally is
            det.top_share[f"{key}|{n_hours}"] = share if usual is None else 0.9 * usual + 0.1 * share
        for dim, top_n in tops.items():  # and how it usually spreads over destinations and query kinds
            old = det.mix_share.get(f"{key}|{n_hours}|{dim}")
            det.mix_share[f"{key}|{n_hours}|{dim}"] = (
                top_n / obs if old is None else 0.9 * old + 0.1 * top_n / obs
            )
        return None
    carried = _carried_by_few(det, key, first, h)
    share = carried / obs if carried is not None and obs > 0 else None
    tops = _top_of_mix(det, key, first, h)
    dispersion = dispersion_for(n_hours, p.dispersion_day, p.dispersion_hour)
    size = nb_size(levels[3], dispersion, shares[0] + shares[1], shares[2])
    if exp <= 0 or nb_tail(obs, exp, size) > ctx["alpha"]:
        return None
    if levels[0] < p.small_level and ratio > p.small_max_ratio:
        return None  # an order-of-magnitude jump on a small base is a sweep (bulk_sweep), not volume
    if share is not None and carried is not None:
        # would the burst still be there without its top contributors? A uniform rise (more work
        # across the agency) keeps the rest high; a sweep by a few operators (or one ORI) does not
        rest_bar = (1 + thr_ratio) / 2 * exp * (1 - usual) if usual is not None else 0.2 * obs
        if obs - carried < rest_bar or _lopsided(det, key, first, h, obs - exp):
            return None
    usual_mix = {dim: det.mix_share.get(f"{key}|{n_hours}|{dim}") for dim in tops}
    if _one_sided_mix(det, key, first, h, tops, usual_mix, obs, exp):
        return None  # the excess is one destination or one query kind (a sweep, a photo harvest)
    end = h + HOUR
    ongoing = det.fired_until.get(key, -1.0) > first
    det.fired_until[key] = max(end, det.fired_until.get(key, -1.0))
    if ongoing:
        return None  # the same episode, already reported: extend it, one alert per burst
    significant = min_significant(exp, size, ctx["alpha"])
    threshold = max(thr_ratio * exp, float(significant), float(p.min_count))
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
        "population_band_min_expected": None
        if pop_band_used is None
        else p.pop_min_expected * 2**pop_band_used,
        "p_value": nb_tail(obs, exp, size),
        "alpha": ctx["alpha"],
        "keys_tested": ctx["keys"],
        "min_significant_count": significant,
        "nb_size": round(size, 4),
        "dispersion": dispersion,
        "window_share_of_day": round(shares[0] + shares[1], 6),
        "profile_queries": round(shares[2], 3),
        "history_queries": levels[3],
        "daily_level_weekday": levels[0],
        "daily_level_weekend": levels[1],
        "history_days": levels[2],
        "min_count": p.min_count,
        "window_hours": n_hours,
        "profile": name,
        "top_contributors_share": None if share is None else round(share, 4),
        "usual_top_contributors_share": None if usual is None else round(usual, 4),
        "top_of_mix": tops,
        "usual_top_of_mix_share": {d: None if u is None else round(u, 4) for d, u in usual_mix.items()},
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
    for horizon in p.ramp_horizons:
        recent_days, base_days, ratio = horizon[:3]
        gap, min_excess = (horizon[3], horizon[4]) if len(horizon) > 3 else (0, p.ramp_min_excess)
        recent = ring.days(day - recent_days + 1, day + 1)
        base_end = day - recent_days - gap + 1
        base = ring.days(base_end - base_days, base_end)
        if len(recent) < recent_days or len(base) < math.ceil(p.ramp_coverage * base_days):
            continue
        rm, bm = median([float(v) for v in recent]), median([float(v) for v in base])
        threshold = max(ratio * max(bm, p.ramp_min_base), bm + min_excess)
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
                "gap_days": gap,
                "min_excess": min_excess,
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
                f"Median {rm:.0f}/day over {recent_days} d vs {bm:.0f}/day over {base_days} d"
                + (f" ending {gap} d before." if gap else " before."),
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
    if key.startswith("component:"):  # one ORI carrying a component's burst is that ORI's burst
        return max(counts.values(), default=None)
    top = det.p.concentration_top
    if top == 0 or len(counts) <= top:
        return None
    return sum(sorted(counts.values(), reverse=True)[:top])


def _window_mix(det: Any, key: str, first: float, last: float) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t, per in det.mix.get(key, {}).items():
        if first <= t <= last:
            for label, n in per.items():
                counts[label] = counts.get(label, 0) + n
    return counts


def _top_of_mix(det: Any, key: str, first: float, last: float) -> dict[str, int]:
    """Queries of an ORI's busiest destination in the window (empty for components, whose spread is
    judged by ORI)."""
    dests = [n for label, n in _window_mix(det, key, first, last).items() if label[0] == "d"]
    return {"d": max(dests)} if dests else {}


def _one_sided_mix(
    det: Any,
    key: str,
    first: float,
    last: float,
    tops: dict[str, int],
    usual: dict[str, float | None],
    obs: int,
    exp: float,
) -> str | None:
    """Did half of the excess go to the single busiest destination (beyond its usual top share), or to
    one query kind beyond that kind's usual share of the ORI's days? A rise of the agency's ordinary
    work spreads like it did before; a sweep or a photo harvest does not."""
    excess = obs - exp
    u = usual.get("d")
    u = 0.5 if u is None else u  # not learned yet: assume the busiest destination takes half
    if u < 0.9 and tops.get("d", 0) - u * obs >= 0.5 * excess * (1 - u):
        return "destination"  # (an ORI that nearly always asks one state cannot be told this way)
    kinds = det.usual_kinds(key, int(first // DAY))
    if kinds:
        total = sum(kinds.values())
        for label, n in _window_mix(det, key, first, last).items():
            if label[0] == "k" and n - kinds.get(label, 0.0) / total * obs >= 0.5 * excess:
                return label[2:]
    return None


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
