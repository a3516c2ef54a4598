"""Peer-group query rates for new_requester: how often the ORIs of one registry group (ICE-ERO, HSI,
CBP, PD, ...) query, so that "this registered ORI was never seen" can be weighed against what its peers
make likely.

Each described ORI's logical queries are counted in aligned hours; an hour is folded into the running
per-ORI totals once the watermark closes it, and the group's summary at that hour boundary is kept: the
histogram of its seen ORIs' counts (capped at `CAP`). `p_unseen` turns it into the chance that a peer
stays unseen: a seen peer with k queries over the span S has rate k/S, misses a time T with chance
exp(-k T/S), and stands for 1/(1 - exp(-k)) ORIs of the group (itself and the unseen ones like it:
the Horvitz-Thompson weight of a sample that only shows ORIs seen at least once). So the group's quiet
tail, which is what an unseen ORI most likely belongs to, weighs in rather than its typical member.
Summaries depend only on the events in closed hours, so a lookup at a boundary gives the same answer
whatever the arrival order within lateness, and after a restore.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from stream.detectors._robust import HOUR

CAP = 50  # counts from here on make exp(-k) negligible: one bin
Stat = dict[str, int]  # count (capped) -> seen ORIs of the group with that count


def p_unseen(stat: Stat, ratio: float) -> float:
    """Chance that an ORI of the group stays unseen for `ratio` times the span the counts cover."""
    num = den = 0.0
    for k, m in stat.items():
        w = m / -math.expm1(-int(k))
        num, den = num + w * math.exp(-int(k) * ratio), den + w
    return num / den if den else 1.0


class PeerRates:
    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.t0: float | None = None  # earliest counted query: where the per-ORI rates start
        self.counts: dict[str, dict[str, int]] = {}  # group -> ORI -> queries in closed hours
        self.open: dict[int, dict[str, dict[str, int]]] = {}  # hour start -> group -> ORI -> queries
        self.hist: dict[int, dict[str, Stat]] = {}  # closed hour boundary -> group -> summary
        self.size = 0

    def add(self, ts: float, group: str, ori: str) -> None:
        self.t0 = ts if self.t0 is None else min(self.t0, ts)
        oris = self.open.setdefault(int(ts // HOUR) * HOUR, {}).setdefault(group, {})
        oris[ori] = oris.get(ori, 0) + 1

    def close(self, watermark: float, keep_from: float) -> None:
        """Fold the hours the watermark has closed; forget summaries older than `keep_from` (but the
        last one before it, which still describes every boundary up to the next)."""
        for hour in sorted(h for h in self.open if h + HOUR <= watermark):
            changed = self.open.pop(hour)
            for group, oris in changed.items():
                dst = self.counts.setdefault(group, {})
                for ori, n in oris.items():
                    if ori in dst or self.size < self.cap:
                        self.size += ori not in dst
                        dst[ori] = dst.get(ori, 0) + n
            prev = self.hist[max(self.hist)] if self.hist else {}
            self.hist[hour + HOUR] = {**prev, **{g: self._summary(g) for g in changed}}
        old = sorted(k for k in self.hist if k < keep_from)
        for k in old[:-1]:
            del self.hist[k]

    def _summary(self, group: str) -> Stat:
        hist = Counter(min(CAP, n) for n in self.counts.get(group, {}).values())
        return {str(k): hist[k] for k in sorted(hist)}

    def at(self, boundary: float, group: str) -> Stat | None:
        """The group's summary over [t0, boundary) (hours closed before `boundary`), if any."""
        keys = [k for k in self.hist if k <= boundary]
        return self.hist[max(keys)].get(group) if keys else None

    def snapshot(self) -> dict[str, Any]:
        return {
            "t0": self.t0,
            "counts": self.counts,
            "open": {str(h): v for h, v in self.open.items()},
            "hist": {str(k): v for k, v in self.hist.items()},
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.t0 = state.get("t0")
        self.counts = {g: dict(v) for g, v in state.get("counts", {}).items()}
        self.open = {int(h): {g: dict(o) for g, o in v.items()} for h, v in state.get("open", {}).items()}
        self.hist = {int(k): {g: dict(s) for g, s in v.items()} for k, v in state.get("hist", {}).items()}
        self.size = sum(len(v) for v in self.counts.values())
