"""State pieces and the decision rule of `bulk_sweep`, kept apart so each module stays short.

`Bucket`: what one key did in one hop (distinct subjects, distinct wildcard searches, patterns).
`PeerStats` (in `_peer_stats`): per peer group, log-binned window counts per day.
`decide`: thresholds from the key's own history, its peers and the floors; returns a `Decision` whose
evidence carries every number needed to re-derive it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from stream.detectors._peer_stats import PeerStats
from stream.detectors._robust import SampledSet, median, stable_hash
from stream.records import Agency

_WILDCARDS = "*?%_ "


class Bucket:
    __slots__ = ("federal", "immigration", "n", "nj", "patterns", "pcap", "peer", "subjects", "wild")

    def __init__(self, cap: int, pcap: int) -> None:
        self.subjects = SampledSet(cap)
        # Most buckets (one ORI/operator in one hop) never see a wildcard search: create it on demand.
        self.wild: SampledSet | None = None
        self.patterns: set[str] = set()
        self.pcap = pcap
        self.n = 0
        self.peer = ""
        self.nj = self.immigration = self.federal = False

    def add(self, h: int | None, wild: bool, pattern: str | None, agency: Agency) -> None:
        self.n += 1
        if h is not None:
            self.subjects.add(h)
            if wild:
                if self.wild is None:
                    self.wild = SampledSet(self.subjects.cap)
                self.wild.add(h)
        if pattern and len(self.patterns) < self.pcap:
            self.patterns.add(pattern)
        # min() keeps the label independent of arrival order should enrichment ever differ
        peer = agency.peer_group
        if not self.peer or peer < self.peer:
            self.peer = peer
        if not self.nj and agency.category == "NJ":
            self.nj = True
        if agency.immigration_enforcement:
            self.immigration = True
        if agency.federal:
            self.federal = True

    def distinct(self) -> int:
        return self.subjects.estimate()

    def wild_distinct(self) -> int:
        return self.wild.estimate() if self.wild is not None else 0

    def max_siblings(self) -> int:
        """Largest set of patterns that differ only in their last literal character (AB1*, AB2*...)."""
        groups: dict[tuple[str, int], set[str]] = {}
        for p in self.patterns:
            core = p.rstrip(_WILDCARDS)
            if core:
                groups.setdefault((core[:-1], len(core)), set()).add(core[-1])
        return max((len(v) for v in groups.values()), default=0)

    @staticmethod
    def union(parts: list[Bucket]) -> Bucket | None:
        """The window made of these buckets, exactly as if its events had been added to one bucket
        (distinct counts: the sample at the smallest level that fits, whatever the split). Patterns
        over the cap keep the smallest ones, so the result never depends on arrival order."""
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        first = parts[0]
        m = Bucket(first.subjects.cap, first.pcap)
        m.subjects = _union_all([p.subjects for p in parts], first.subjects.cap)
        wild = [p.wild for p in parts if p.wild is not None]
        m.wild = _union_all(wild, first.subjects.cap) if wild else None
        patterns: set[str] = set().union(*(p.patterns for p in parts))
        m.patterns = patterns if len(patterns) <= first.pcap else set(sorted(patterns)[: first.pcap])
        m.n = sum(p.n for p in parts)
        m.peer = min((p.peer for p in parts if p.peer), default="")
        m.nj = any(p.nj for p in parts)
        m.immigration = any(p.immigration for p in parts)
        m.federal = any(p.federal for p in parts)
        return m

    def dump(self) -> list[Any]:
        flags = [self.nj, self.immigration, self.federal]
        wild = self.wild.dump() if self.wild is not None else [0, []]
        return [self.n, self.peer, flags, self.subjects.dump(), wild, sorted(self.patterns)]

    @classmethod
    def load(cls, cap: int, pcap: int, raw: list[Any]) -> Bucket:
        b = cls(cap, pcap)
        b.n, b.peer = int(raw[0]), str(raw[1])
        b.nj, b.immigration, b.federal = (bool(x) for x in raw[2])
        b.subjects, wild = SampledSet.load(cap, raw[3]), SampledSet.load(cap, raw[4])
        b.wild = wild if wild.members or wild.level else None
        b.patterns = set(raw[5])
        return b


def _union_all(sets: list[SampledSet], cap: int) -> SampledSet:
    level = max(s.level for s in sets)
    members: set[int] = set().union(*(s.members for s in sets))
    if level:
        mask = (1 << level) - 1
        members = {m for m in members if not m & mask}
    out = SampledSet(cap, level, members)
    _refit(out)
    return out


def _refit(s: SampledSet) -> None:
    while len(s.members) > s.cap:
        s.level += 1
        mask = (1 << s.level) - 1
        s.members = {m for m in s.members if not m & mask}


@dataclass(slots=True)
class Decision:
    rules: list[str]
    severity: str
    evidence: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


def _baseline(p: Any, hist: dict[int, list[int]], day: int, warm: bool) -> tuple[str, float, float, int]:
    """Which reference the key has: enough own days (median of daily maxima), a day or two (their max),
    or - only while the monitor itself warms up - the windows seen so far today. Today's windows are
    otherwise never a reference: a slow sweep would raise its own bar as it goes."""
    before = [v for d, v in hist.items() if day - p.history_days <= d < day]
    if len(before) >= p.min_history_days:
        return (
            "own_median_daily_max",
            median([v[0] for v in before]),
            median([v[1] for v in before]),
            len(before),
        )
    if before:
        return "short_history_max", max(v[0] for v in before), max(v[1] for v in before), len(before)
    if hist and warm:
        return "warmup_max_seen", max(v[0] for v in hist.values()), max(v[1] for v in hist.values()), 0
    return "none", 0.0, 0.0, 0


def decide(
    p: Any, si: int, w: Bucket, hist: dict[int, list[int]], day: int, peers: PeerStats, key: str, warm: bool
) -> Decision | None:
    low = p.nj_floor_mult if w.nj else 1.0
    if (
        w.distinct() <= p.floor_distinct[min(si, len(p.floor_distinct) - 1)] * low
        and w.wild_distinct() <= p.floor_wildcard[min(si, len(p.floor_wildcard) - 1)] * low
        and len(w.patterns) < p.enum_min_siblings
    ):
        return None  # under every floor: no threshold can be lower (the common case, kept cheap)
    basis, ref_d, ref_w, n_days = _baseline(p, hist, day, warm)
    floor_mult = (p.nj_floor_mult if w.nj else 1.0) * (
        1.0 if basis in ("own_median_daily_max", "short_history_max") else p.new_floor_mult
    )
    floor_d, floor_w = p.floor_distinct[min(si, len(p.floor_distinct) - 1)] * floor_mult, 0.0
    floor_w = p.floor_wildcard[min(si, len(p.floor_wildcard) - 1)] * floor_mult
    peer_q = 0.0  # only keys without their own history are judged against peers
    if basis != "own_median_daily_max":
        peer_q = peers.quantile(
            si, w.peer, "u" if "/" in key else "o", day, p.peer_quantile, p.peer_min_windows
        )
    if basis == "own_median_daily_max":
        thr_d, thr_w = max(floor_d, p.k_own * ref_d), max(floor_w, p.k_own * ref_w)
    elif basis in ("short_history_max", "warmup_max_seen"):
        thr_d = max(floor_d, p.k_warm * ref_d, p.k_peer * peer_q)
        thr_w = max(floor_w, p.k_warm * ref_w)
    elif warm:  # a key never seen while the monitor itself is warming up: cannot judge its size yet
        thr_d = thr_w = math.inf
    else:
        thr_d, thr_w = max(floor_d, p.k_peer * peer_q), floor_w
    d, wd, sib = w.distinct(), w.wild_distinct(), w.max_siblings()
    rules = [
        name
        for name, hit in (
            ("distinct_subjects", d > thr_d),
            ("wildcard_searches", wd > thr_w),
            ("enumeration", sib >= p.enum_min_siblings),
        )
        if hit
    ]
    if not rules:
        return None
    ratio = max(d / thr_d if thr_d < math.inf else 0.0, wd / thr_w if thr_w < math.inf else 0.0)
    severity = "high" if (w.immigration or w.nj or ratio >= 3.0 or "enumeration" in rules) else "warning"
    primary = rules[0]
    observed, threshold, baseline = {
        "distinct_subjects": (d, thr_d, ref_d),
        "wildcard_searches": (wd, thr_w, ref_w),
        "enumeration": (sib, p.enum_min_siblings, 0.0),
    }[primary]
    evidence = {
        "rules": rules,
        "observed_value": observed,
        "threshold": _num(threshold),
        "baseline": baseline,
        "distinct_subjects": d,
        "wildcard_searches": wd,
        "max_sibling_patterns": sib,
        "queries": w.n,
        "threshold_distinct": _num(thr_d),
        "threshold_wildcard": _num(thr_w),
        "threshold_siblings": p.enum_min_siblings,
        "baseline_basis": basis,
        "baseline_distinct": ref_d,
        "baseline_wildcard": ref_w,
        "history_days": n_days,
        "peer_group": w.peer,
        "peer_quantile_distinct": peer_q,
        "floor_distinct": floor_d,
        "floor_wildcard": floor_w,
        "non_criminal_justice": w.nj,
    }
    summary = f"{d} distinct subjects, {wd} wildcard searches, {sib} sibling patterns (baseline {basis})."
    return Decision(rules, severity, evidence, summary)


def _num(x: float) -> float | None:
    return None if math.isinf(x) else round(float(x), 3)


__all__ = ["Bucket", "Decision", "PeerStats", "decide", "stable_hash"]
