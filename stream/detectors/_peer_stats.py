"""Peer-group statistics for `bulk_sweep`: per (scale, peer group, key kind), a log-binned histogram of
window counts per day. Bounded (a few dozen bins per group and day) and robust: a high quantile of what
comparable keys do, for keys too new to have their own history. Quantiles are cached per day.
"""

from __future__ import annotations

import math
from typing import Any


class PeerStats:
    """(scale, peer group, key kind) -> {day: {log bin: windows}}: a robust high quantile of what
    comparable keys do per window, for keys too new to have their own history."""

    def __init__(self, days: int) -> None:
        self.days = days
        self.h: dict[str, dict[int, dict[int, int]]] = {}
        self.cache: dict[str, dict[tuple[int, float, int], float]] = {}  # derived, not checkpointed

    @staticmethod
    def _bin(v: int) -> int:
        return int(4 * math.log2(1 + v))

    def add(self, si: int, peer: str, kind: str, day: int, value: int) -> None:
        group = f"{si}|{peer}|{kind}"
        hist = self.h.setdefault(group, {}).setdefault(day, {})
        b = self._bin(value)
        hist[b] = hist.get(b, 0) + 1
        cached = self.cache.get(group)
        if cached:  # a late window of an earlier day changes what later days see
            for k in [k for k in cached if k[0] > day]:
                del cached[k]

    def quantile(self, si: int, peer: str, kind: str, day: int, q: float, min_n: int) -> float:
        """Upper edge of the bin holding quantile q over the days before `day`; 0 when too few windows."""
        group = f"{si}|{peer}|{kind}"
        cached = self.cache.setdefault(group, {})
        value = cached.get((day, q, min_n))
        if value is None:
            value = cached[(day, q, min_n)] = self._quantile(group, day, q, min_n)
        return value

    def _quantile(self, group: str, day: int, q: float, min_n: int) -> float:
        merged: dict[int, int] = {}
        for d, hist in self.h.get(group, {}).items():
            if day - self.days <= d < day:
                for b, c in hist.items():
                    merged[b] = merged.get(b, 0) + c
        total = sum(merged.values())
        if total < min_n:
            return 0.0
        seen = 0
        for b in sorted(merged):
            seen += merged[b]
            if seen >= q * total:
                return math.floor(2 ** ((b + 1) / 4) - 1)
        return 0.0  # unreachable: the loop always reaches q * total

    def expire(self, day: int) -> None:
        self.cache.clear()
        for days in self.h.values():
            for d in [d for d in days if d <= day - self.days]:
                del days[d]

    def dump(self) -> list[Any]:
        return [[k, [[d, sorted(h.items())] for d, h in days.items()]] for k, days in self.h.items()]

    @classmethod
    def load(cls, days: int, raw: list[Any]) -> PeerStats:
        ps = cls(days)
        for k, rows in raw:
            ps.h[k] = {int(d): {int(b): int(c) for b, c in h} for d, h in rows}
        return ps
