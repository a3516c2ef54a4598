"""Counters and baselines of `sensitive_targeting`: per-day, per-ORI counts and decayed pooled shares.

Day keys are strings (JSON). Baselines are exponentially weighted [n, k] pairs folded in at day close;
an ORI's own S2S history skips days it was flagged, so a campaign does not become its own baseline.
"""

from __future__ import annotations

from typing import Any

from stream.detectors._ticks import align
from stream.records import Query, Response

_DAY = 86400.0
_KEYS = ("s2s", "records", "s2s_pool", "record_pool", "own")


def _day(ts: float) -> str:
    return str(int(align(ts, _DAY)))


def _add(row: list[float], n: float, k: float) -> None:
    row[0] += n
    row[1] += k


class SensitiveState:
    def __init__(self, p: Any) -> None:
        self.p = p
        self.s2s: dict[str, dict[str, list[Any]]] = {}  # day -> ori -> [n, k, home]
        self.records: dict[str, dict[str, dict[str, list[float]]]] = {}  # day -> ori -> state -> [n, k]
        self.s2s_pool: dict[str, list[float]] = {}  # home state or "*" -> decayed [n, k]
        self.record_pool: dict[str, list[float]] = {}  # responding state or "*" -> decayed [n, k]
        self.own: dict[str, list[float]] = {}  # ori -> decayed S2S [n, k]
        self._cache_day: str | None = None  # day totals are derived, never snapshotted
        self._cache: tuple[dict[str, list[float]], dict[str, list[float]]] = ({}, {})

    def add_s2s(self, q: Query) -> None:
        row = self.s2s.setdefault(_day(q.ts), {}).setdefault(q.ori, [0, 0, q.agency.home_state])
        row[0] += 1
        row[1] += int(q.ssn_placeholder)

    def add_record(self, q: Query, r: Response, flagged: bool) -> None:
        per_ori = self.records.setdefault(_day(r.ts), {}).setdefault(q.ori, {})
        _add(per_ori.setdefault(r.responding_state, [0, 0]), 1, int(flagged))

    def s2s_oris(self, day: float) -> list[str]:
        return sorted(self.s2s.get(_day(day), {}))

    def record_oris(self, day: float) -> list[str]:
        return sorted(self.records.get(_day(day), {}))

    def s2s_counts(self, ori: str, day: float) -> tuple[int, int]:
        n, k, _ = self.s2s[_day(day)][ori]
        return n, k

    def _totals(self, day: float) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
        """Day totals over all ORIs (S2S by home state, records by responding state; "*" = all)."""
        key = _day(day)
        if self._cache_day != key:
            s2s: dict[str, list[float]] = {}
            for n, k, home in self.s2s.get(key, {}).values():
                for g in (home, "*"):
                    _add(s2s.setdefault(g, [0.0, 0.0]), n, k)
            rec: dict[str, list[float]] = {}
            for states in self.records.get(key, {}).values():
                for state, (n, k) in states.items():
                    for g in (state, "*"):
                        _add(rec.setdefault(g, [0.0, 0.0]), n, k)
            self._cache_day, self._cache = key, (s2s, rec)
        return self._cache

    @staticmethod
    def _others(pool: dict[str, list[float]], day: dict[str, list[float]], key: str, own: Any) -> list[float]:
        """History pool + the day's total - this ORI's own contribution (leave-one-out)."""
        hist, tot = pool.get(key, [0.0, 0.0]), day.get(key, [0.0, 0.0])
        return [hist[0] + tot[0] - own[0], hist[1] + tot[1] - own[1]]

    def s2s_reference(self, ori: str, day: float) -> tuple[float, float | None]:
        """Placeholder share of the other requesters (same home state if enough), own history share."""
        row = self.s2s[_day(day)][ori]
        tot = self._totals(day)[0]
        pooled = self._others(self.s2s_pool, tot, row[2], row)
        if pooled[0] < self.p.min_pool:
            pooled = self._others(self.s2s_pool, tot, "*", row)
        peer = pooled[1] / pooled[0] if pooled[0] > 0 else 0.0
        own = self.own.get(ori)
        own_share = own[1] / own[0] if own and own[0] >= self.p.min_history else None
        return peer, own_share

    def record_expectation(self, ori: str, day: float) -> tuple[int, int, float, dict[str, list[int]]]:
        """Answered and flagged records of `ori`, and the flagged count other requesters' rates predict."""
        mine = self.records[_day(day)][ori]
        tot = self._totals(day)[1]
        own_all = [sum(v[0] for v in mine.values()), sum(v[1] for v in mine.values())]
        everyone = self._others(self.record_pool, tot, "*", own_all)
        fallback = everyone[1] / everyone[0] if everyone[0] > 0 else 0.0
        expected = 0.0
        for state, row in mine.items():
            pooled = self._others(self.record_pool, tot, state, row)
            rate = pooled[1] / pooled[0] if pooled[0] >= self.p.min_pool else fallback
            expected += row[0] * max(rate, self.p.rate_floor)
        by_state = {s: [int(v[0]), int(v[1])] for s, v in sorted(mine.items())}
        return int(own_all[0]), int(own_all[1]), expected, by_state

    def close_day(self, day: float, flagged: set[str]) -> None:
        """Fold the day into the decayed pools and own histories; drop days that are done."""
        self._cache_day = None
        d = self.p.history_decay
        for pool in (self.s2s_pool, self.record_pool, self.own):
            for row in pool.values():
                row[0], row[1] = row[0] * d, row[1] * d
        for ori, (n, k, home) in self.s2s.pop(_day(day), {}).items():
            for key in (home, "*"):
                _add(self.s2s_pool.setdefault(key, [0.0, 0.0]), n, k)
            if ori not in flagged:
                _add(self.own.setdefault(ori, [0.0, 0.0]), n, k)
        for states in self.records.pop(_day(day), {}).values():
            for state, (n, k) in states.items():
                for key in (state, "*"):
                    _add(self.record_pool.setdefault(key, [0.0, 0.0]), n, k)
        self.own = {o: v for o, v in self.own.items() if v[0] >= 0.5}
        for stale in [x for x in (*self.s2s, *self.records) if float(x) < day]:
            self.s2s.pop(stale, None)
            self.records.pop(stale, None)

    def size(self) -> int:
        return (
            sum(len(v) for v in self.s2s.values())
            + sum(len(v) for v in self.records.values())
            + len(self.own)
        )

    def snapshot(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in _KEYS}

    def restore(self, state: dict[str, Any]) -> None:
        for k in _KEYS:
            setattr(self, k, state.get(k, {}))
        self._cache_day = None
