"""Small, pure building blocks shared by the behavioural detectors (bulk_sweep, agency_spike,
new_requester, feed_silence): robust statistics, local hour-of-week, stable hashing, a bounded
distinct-count set and compact day-indexed rings.

Everything here is deterministic across processes (no `hash()` of str, which Python salts per run) and
round-trips through JSON, because detector state is checkpointed with the offsets it reflects.
"""

from __future__ import annotations

import base64
import hashlib
import sys
from array import array
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY = 86_400
HOUR = 3_600
WEEK = 7 * DAY
_EPOCH_MONDAY = 4 * DAY  # 1970-01-01 was a Thursday: shift so slot 0 is Monday 00:00


def median(values: list[float]) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    mid = len(s) // 2
    return float(s[mid]) if len(s) % 2 else (s[mid - 1] + s[mid]) / 2.0


def quantile(values: list[float], q: float) -> float:
    """Nearest-rank quantile (no interpolation: stable and easy to re-derive from evidence)."""
    if not values:
        return 0.0
    s = sorted(values)
    return float(s[min(len(s) - 1, max(0, int(q * len(s) + 0.999999) - 1))])


def align(ts: float, width: float) -> float:
    return float(int(ts // width) * width)


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def utc_offset(ts: float, tz: str | None) -> float:
    """Seconds east of UTC for `tz` at `ts` (0 for unknown zones: UTC is the honest fallback)."""
    zone = _zone(tz) if tz else None
    if zone is None:
        return 0.0
    off = datetime.fromtimestamp(ts, UTC).astimezone(zone).utcoffset()
    return off.total_seconds() if off is not None else 0.0


def hour_of_week(ts: float, offset_s: float = 0.0) -> int:
    """0..167, Monday 00:00 = 0, in the clock shifted by `offset_s`."""
    return int(((ts + offset_s - _EPOCH_MONDAY) % WEEK) // HOUR)


def is_weekend(day: int) -> bool:
    """Whether day number `day` (days since 1970-01-01, a Thursday) is a Saturday or a Sunday."""
    return (day + 3) % 7 >= 5


def stable_hash(text: str) -> int:
    """63-bit process-independent hash (Python's str hash is salted per process)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") >> 1


class SampledSet:
    """Distinct counter: exact up to `cap` members, then adaptive sampling by hash bits.

    The sampling level ends as the smallest level whose sample fits the cap, which depends only on the
    set of members inserted, never on their order: the estimate is order-independent, as the
    determinism rule requires.
    """

    __slots__ = ("cap", "level", "members")

    def __init__(self, cap: int, level: int = 0, members: set[int] | None = None) -> None:
        self.cap = cap
        self.level = level
        self.members: set[int] = members if members is not None else set()

    def add(self, h: int) -> None:
        if h & ((1 << self.level) - 1):
            return
        self.members.add(h)
        while len(self.members) > self.cap:
            self.level += 1
            mask = (1 << self.level) - 1
            self.members = {m for m in self.members if not m & mask}

    def union_estimate(self, other: SampledSet | None) -> int:
        if other is None:
            return self.estimate()
        level = max(self.level, other.level)
        mask = (1 << level) - 1
        merged = {m for m in self.members | other.members if not m & mask}
        while len(merged) > self.cap:
            level += 1
            mask = (1 << level) - 1
            merged = {m for m in merged if not m & mask}
        return len(merged) << level

    def estimate(self) -> int:
        return len(self.members) << self.level

    def dump(self) -> list[Any]:
        # Members are 63-bit hashes: packed as base64 of sorted little-endian uint64 (11 characters
        # per member instead of ~20 as JSON numbers; this was most of bulk_sweep's checkpoint).
        return [self.level, _pack(self.members)] if self.members else [self.level, []]

    @classmethod
    def load(cls, cap: int, raw: list[Any]) -> SampledSet:
        members = raw[1]
        if isinstance(members, str):
            return cls(cap, int(raw[0]), _unpack(members))
        return cls(cap, int(raw[0]), {int(m) for m in members})  # checkpoints written before packing


def _pack(members: set[int]) -> str:
    packed = array("Q", sorted(members))
    if sys.byteorder != "little":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def _unpack(text: str) -> set[int]:
    packed = array("Q")
    packed.frombytes(base64.b64decode(text, validate=True))
    if sys.byteorder != "little":
        packed.byteswap()
    return set(packed)


class DayRing:
    """Per-day values for the last `days` days: {day_index: value}, oldest dropped on insert."""

    @staticmethod
    def put_max(ring: dict[int, float], day: int, value: float, days: int) -> None:
        if value > ring.get(day, -1.0):
            ring[day] = value
        for old in [d for d in ring if d <= day - days]:
            del ring[old]

    @staticmethod
    def before(ring: dict[int, float], day: int, days: int) -> list[float]:
        """Values of the `days` days strictly before `day` (the current day never baselines itself)."""
        return [v for d, v in ring.items() if day - days <= d < day]
