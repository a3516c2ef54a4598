"""Bounded memory of ids already seen: redelivered events and multi-state query families.

Entries live for a horizon of event time (and never beyond a hard capacity). Dict insertion order is
close to event-time order, so expiry pops from the front in amortised O(1). An OrderedDict, because
`next(iter(d))` on a plain dict walks over every slot deleted from its front since the last resize.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any


class SeenIds:
    def __init__(self, horizon_s: float, capacity: int) -> None:
        self.horizon_s = horizon_s
        self.capacity = capacity
        self._ids: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._ids)

    def first(self, key: str, ts: float) -> bool:
        """True the first time `key` is offered (and remembers it), False on every later offer."""
        if key in self._ids:
            return False
        self._ids[key] = ts
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
        return True

    def expire(self, watermark: float) -> None:
        cutoff = watermark - self.horizon_s
        ids = self._ids
        while ids:
            oldest = next(iter(ids))
            if ids[oldest] >= cutoff:
                break
            del ids[oldest]

    def snapshot(self) -> list[Any]:
        return [[k, v] for k, v in self._ids.items()]

    def restore(self, rows: list[Any]) -> None:
        self._ids = OrderedDict((k, v) for k, v in rows)
