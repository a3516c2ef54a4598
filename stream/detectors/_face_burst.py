"""Face-search burst test of `photo_face_match`: one requester's face searches far above its own rate.

Face searches (`source == "face"`, FRS, or `face_image` mode) are counted per ORI per hour. The ORI's
own rate is an exponentially weighted count over every hour since the detector started (quiet hours
count as zeros), updated lazily; searches cluster in working hours, so the reference is that rate times
`face_peak_factor`, floored. Until `warmup_hours` have passed, a higher floor stands in for history.
Trailing windows of 1 and `face_window_hours` hours are tested so a burst across an hour edge counts;
an hour joins the reference only once it has left the longest window.
"""

from __future__ import annotations

import math
from typing import Any

from stream.detectors._rarity import poisson_sf
from stream.detectors._ticks import align
from stream.records import Query

_HOUR = 3600.0


def face_search(q: Query) -> bool:
    return q.source == "face" or q.message_key == "FRS" or q.search_mode == "face_image"


class FaceBurst:
    def __init__(self, p: Any) -> None:
        self.p = p
        self.hours: dict[str, dict[str, list[int]]] = {}  # ori -> hour -> [searches, candidates]
        self.rate: dict[str, list[float]] = {}  # ori -> [decayed count, hour it is valid at]
        self.started: float | None = None
        self.quiet_until: dict[str, float] = {}

    def add(self, q: Query) -> None:
        if q.first_of_logical and face_search(q):
            self.hours.setdefault(q.ori, {}).setdefault(str(int(align(q.ts, _HOUR))), [0, 0])[0] += 1

    def add_candidates(self, ori: str, ts: float, candidates: int) -> None:
        """Candidates returned, in the hour of the response (so a decision sees those before it)."""
        self.hours.setdefault(ori, {}).setdefault(str(int(align(ts, _HOUR))), [0, 0])[1] += candidates

    def _decay(self) -> float:
        return self.p.face_history_decay_per_day ** (1 / 24)

    def _reference(self, ori: str, boundary: float) -> tuple[float, bool]:
        """Reference searches per hour for `ori` before `boundary`, and whether history is warm."""
        assert self.started is not None
        hours = (boundary - self.started) / _HOUR
        d = self._decay()
        weight = (1 - d**hours) / (1 - d) if hours > 0 else 0.0
        count, at = self.rate.get(ori, (0.0, boundary))
        count *= d ** ((boundary - at) / _HOUR)
        rate = count / weight if weight > 0 else 0.0
        warm = hours >= self.p.warmup_hours
        floor = self.p.face_floor_rate if warm else self.p.face_warmup_rate
        return max(rate * self.p.face_peak_factor, floor), warm

    def test(self, ori: str, boundary: float) -> dict[str, Any] | None:
        if self.started is None:
            self.started = boundary - _HOUR
        if self.quiet_until.get(ori, -math.inf) > boundary:
            return None
        ref, warm = self._reference(ori, boundary - self.p.face_window_hours * _HOUR)
        for width in sorted({1, self.p.face_window_hours}):
            lo = boundary - width * _HOUR
            rows = {float(h): v for h, v in self.hours.get(ori, {}).items() if lo <= float(h) < boundary}
            count = sum(v[0] for v in rows.values())
            expected = ref * width
            if count < self.p.min_face_searches or count < self.p.face_ratio * expected:
                continue
            p_value = poisson_sf(count, expected)
            if p_value < self.p.alpha:
                self.quiet_until[ori] = boundary + self.p.face_cooldown_hours * _HOUR
                return {
                    "test": "face_burst",
                    "face_searches": count,
                    "window_hours": width,
                    "expected": round(expected, 4),
                    "reference_rate_per_hour": round(ref, 4),
                    "history_warm": warm,
                    "candidates_returned": sum(v[1] for v in rows.values()),
                    "p_value": p_value,
                    "alpha": self.p.alpha,
                    "first_hour": min(h for h, v in rows.items() if v[0]),
                }
        return None

    def close_hour(self, boundary: float) -> None:
        """Fold the hour leaving the longest window into each ORI's rate (so a burst being tested is
        never part of its own reference), and drop it."""
        if self.started is None:
            self.started = boundary - _HOUR
        d = self._decay()
        keep = boundary - self.p.face_window_hours * _HOUR
        for ori in list(self.hours):
            n = sum(v[0] for h, v in self.hours[ori].items() if float(h) < keep)
            if n:
                count, at = self.rate.get(ori, (0.0, keep))
                self.rate[ori] = [count * d ** ((keep - at) / _HOUR) + n, keep]
            self.hours[ori] = {h: v for h, v in self.hours[ori].items() if float(h) >= keep}
            if not self.hours[ori]:
                del self.hours[ori]
        if boundary % 86400 == 0:  # forget ORIs whose weighted count decayed to nothing
            self.rate = {o: v for o, v in self.rate.items() if v[0] * d ** ((boundary - v[1]) / _HOUR) > 0.01}
            self.quiet_until = {o: t for o, t in self.quiet_until.items() if t > boundary}

    def snapshot(self) -> dict[str, Any]:
        return {"hours": self.hours, "rate": self.rate, "started": self.started, "quiet": self.quiet_until}

    def restore(self, state: dict[str, Any]) -> None:
        self.hours = state.get("hours", {})
        self.rate = state.get("rate", {})
        self.started = state.get("started")
        self.quiet_until = state.get("quiet", {})
