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

    def total(self) -> float:
        """Decayed number of queries behind the shares (how sure they are)."""
        return sum(self.s[0]) + sum(self.s[1])

    def dump(self) -> list[list[float]]:
        return [list(row) for row in self.s]  # unrounded: a restore must continue bit-identically


def dump_state(det: Any) -> dict[str, Any]:
    """JSON-compatible checkpoint of an `AgencySpike` (tables keyed by str, lists of pairs)."""
    return {
        "cursor": det.cursor,
        "start_ts": det.start_ts,
        "meta": det.meta,
        "hours": {k: [[t, n] for t, n in v.items()] for k, v in det.hours.items()},
        "days": {k: [[d, n] for d, n in v.items()] for k, v in det.days.items()},
        "top": {k: [[t, sorted(m.items())] for t, m in v.items()] for k, v in det.top.items()},
        "ops": {k: [[t, sorted(m.items())] for t, m in v.items()] for k, v in det.ops.items()},
        "mix": {k: [[t, sorted(m.items())] for t, m in v.items()] for k, v in det.mix.items()},
        "rings": {k: r.dump() for k, r in det.rings.items()},
        "ratios": {k: [[d, r] for d, r in v.items()] for k, v in det.ratios.items()},
        "profiles": {k: p.dump() for k, p in det.profiles.items()},
        "pop": {k: [[d, sorted(h.items())] for d, h in v.items()] for k, v in det.pop.items()},
        "fired_until": det.fired_until,
        "top_share": det.top_share,
        "mix_share": det.mix_share,
        "kinds_usual": det.kinds_usual,
        "kinds_days": det.kinds_days,
        "ramp_last": det.ramp_last,
    }


def load_state(det: Any, state: dict[str, Any]) -> None:
    """Inverse of `dump_state`; tables missing from older checkpoints start empty."""
    det._reset()
    det.cursor = state.get("cursor")
    det.start_ts = state.get("start_ts")
    det.meta = {k: list(v) for k, v in state.get("meta", {}).items()}
    det.hours = {k: {float(t): int(n) for t, n in v} for k, v in state.get("hours", {}).items()}
    det.days = {k: {int(d): int(n) for d, n in v} for k, v in state.get("days", {}).items()}
    det.top = {k: {float(t): dict(m) for t, m in v} for k, v in state.get("top", {}).items()}
    det.ops = {k: {float(t): dict(m) for t, m in v} for k, v in state.get("ops", {}).items()}
    det.mix = {k: {float(t): dict(m) for t, m in v} for k, v in state.get("mix", {}).items()}
    n = det.p.history_days
    det.rings = {k: DailyRing.load(n, r) for k, r in state.get("rings", {}).items()}
    det.ratios = {k: {int(d): float(r) for d, r in v} for k, v in state.get("ratios", {}).items()}
    det.profiles = {k: Profile([list(r) for r in p]) for k, p in state.get("profiles", {}).items()}
    det.fired_until = {k: float(v) for k, v in state.get("fired_until", {}).items()}
    det.pop = {
        k: {int(d): {int(b): int(c) for b, c in h} for d, h in v} for k, v in state.get("pop", {}).items()
    }
    det.ramp_last = {k: int(v) for k, v in state.get("ramp_last", {}).items()}
    det.top_share = {k: float(v) for k, v in state.get("top_share", {}).items()}
    det.mix_share = {k: float(v) for k, v in state.get("mix_share", {}).items()}
    det.kinds_usual = {
        k: {c: float(n) for c, n in v.items()} for k, v in state.get("kinds_usual", {}).items()
    }
    det.kinds_days = {
        k: {d: {c: int(n) for c, n in m.items()} for d, m in v.items()}
        for k, v in state.get("kinds_days", {}).items()
    }
