"""Aligned event-time ticks and episode search, shared by the windowed detectors.

Every decision is taken at an aligned boundary B (a multiple of `step`) once the watermark has passed
it, from the events with ts < B only. Those events have all arrived by then (within the allowed
lateness), so what fires, and with which `window_start`, depends on the set of events and not on the
order they came in, nor on how the watermark moved between boundaries.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from typing import Any


def align(ts: float, step: float) -> float:
    return math.floor(ts / step) * step


class TickClock:
    """Which aligned boundaries a watermark closes; events before the last closed one are late."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.closed: float | None = None  # last boundary already processed
        self.late = 0  # events that arrived after their bucket was closed (counted, then ignored)

    def admit(self, ts: float) -> bool:
        if self.closed is None:
            self.closed = align(ts, self.step)
        if ts < self.closed:
            self.late += 1
            return False
        return True

    def due(self, watermark: float, max_ticks: int = 24 * 62) -> list[float]:
        """Boundaries newly closed by `watermark`, oldest first (a long gap skips empty middles)."""
        if self.closed is None:
            return []
        last = align(watermark, self.step)
        if last <= self.closed:
            return []
        first = max(self.closed + self.step, last - (max_ticks - 1) * self.step)
        n = round((last - first) / self.step) + 1
        self.closed = last
        return [first + i * self.step for i in range(n)]

    def snapshot(self) -> dict[str, Any]:
        return {"closed": self.closed, "late": self.late}

    def restore(self, state: dict[str, Any]) -> None:
        self.closed = state.get("closed")
        self.late = int(state.get("late", 0))


def first_dense_window(
    times: Sequence[float], keys: Sequence[Hashable], span: float, need: int
) -> tuple[int, int] | None:
    """Earliest i such that [times[i], times[i] + span) holds >= `need` distinct keys.

    `times` must be sorted. Returns (i, j) with j the index of the point that completed the window.
    """
    counts: Counter[Hashable] = Counter()
    j = 0
    n = len(times)
    for i in range(n):
        while j < n and times[j] < times[i] + span:
            counts[keys[j]] += 1
            j += 1
            if len(counts) >= need:
                return i, j - 1
        counts[keys[i]] -= 1
        if counts[keys[i]] == 0:
            del counts[keys[i]]
    return None
