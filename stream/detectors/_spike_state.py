"""State pieces of `agency_spike`: compact daily-count rings per key and diurnal profiles per peer group.

`DailyRing` keeps one key's daily query totals for the last N days in an `array('I')` (a few hundred
bytes per ORI, so 18,000+ agencies with four months of history stay small). `Profile` learns, per peer
group, how a day's volume spreads over the local hours, with exponential decay, so a key's expected
count for any hour is its own daily level times its peers' hourly share.
"""

from __future__ import annotations

from array import array
from typing import Any


class DailyRing:
    __slots__ = ("first_day", "last_day", "n", "vals")

    def __init__(self, n: int, first_day: int) -> None:
        self.n = n
        self.first_day = first_day
        self.last_day = first_day - 1
        self.vals = array("I", bytes(4 * n))

    def close_day(self, day: int, count: int) -> None:
        """Record the total of `day` (days skipped since the last one were days with no queries)."""
        if day <= self.last_day:
            return
        for d in range(max(self.last_day + 1, day - self.n + 1), day):
            self.vals[d % self.n] = 0
        self.vals[day % self.n] = min(count, 0xFFFFFFFF)
        self.last_day = day

    def days(self, start: int, end: int) -> list[int]:
        """Totals of days in [start, end) that were recorded (not before the key was first seen)."""
        lo = max(start, self.first_day, self.last_day - self.n + 1)
        return [self.vals[d % self.n] for d in range(lo, min(end, self.last_day + 1))]

    def dump(self) -> list[Any]:
        return [self.first_day, self.last_day, self.vals.tolist()]

    @classmethod
    def load(cls, n: int, raw: list[Any]) -> DailyRing:
        r = cls(n, int(raw[0]))
        r.last_day = int(raw[1])
        vals = [int(v) for v in raw[2]][:n]
        r.vals = array("I", vals + [0] * (n - len(vals)))
        return r


class Profile:
    """Decayed hourly counts by (weekend?, local hour) for one peer group."""

    __slots__ = ("s",)

    def __init__(self, s: list[list[float]] | None = None) -> None:
        self.s = s if s is not None else [[0.0] * 24, [0.0] * 24]

    def add(self, weekend: bool, hour: int, count: int) -> None:
        self.s[int(weekend)][hour] += count

    def decay(self, factor: float) -> None:
        self.s = [[v * factor for v in row] for row in self.s]

    def share(self, weekend: bool, hour: int) -> float | None:
        """Fraction of a day's volume falling in local `hour`; None while nothing is known (warm-up).
        Weekday and weekend rows are pooled: over whole days every local hour is equally exposed,
        whereas one row alone is biased while its days are partial (a stream starting Monday 00:00
        UTC files Sunday evening, local time, under the weekend). Day type enters through the level."""
        pooled = [a + b for a, b in zip(self.s[0], self.s[1], strict=True)]
        total = sum(pooled)
        return pooled[hour] / total if total > 0 else None

    def dump(self) -> list[list[float]]:
        return [list(row) for row in self.s]  # unrounded: a restore must continue bit-identically
