"""feed_silence: the tap has gone quiet for longer than is normal at this time of the week.

Event times are buffered in a small heap and consumed in time order once the watermark passes them, so
gaps are measured between consecutive events of the full, re-ordered stream. Per UTC hour of week the
detector learns, over the last weeks, each hour's query count and its longest gap. The allowed silence
after an event is max(floor, k_gap x typical longest gap, k_rate x mean gap) for the hours the silence
covers; the typical values are medians (an outage hour does not poison them), taken from the same hour
of week when known, else the same hour of day, else (warm-up) `warmup_mult` x floor. Fires from
`on_watermark` (the runtime moves the watermark by wall clock when nothing arrives), once per silence;
window_start = the last event before it, group_key "feed", ori null.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import Any

from pydantic import Field

from stream.detectors import register
from stream.detectors._robust import HOUR, WEEK, hour_of_week, median
from stream.detectors.base import Detector, DetectorContext, Params
from stream.findings import Finding, iso
from stream.records import Query, Response


class FeedSilenceParams(Params):
    floor_s: float = Field(300.0, gt=0, description="Never report a gap shorter than this.")
    k_gap: float = Field(4.0, gt=1, description="Times the typical longest gap of the hour.")
    k_rate: float = Field(8.0, gt=1, description="Times the mean inter-arrival gap of the hour.")
    warmup_mult: float = Field(4.0, ge=1, description="Floor multiplier while nothing is learned.")
    weeks: int = Field(4, ge=1, le=12, description="Weeks of history per hour of week.")
    min_samples: int = Field(2, ge=1, description="Samples needed to trust an hour's statistics.")
    include_responses: bool = Field(True, description="Responses also prove the tap is alive.")
    max_buffer: int = Field(200_000, ge=1000, description="Cap on buffered event times.")


@register
class FeedSilence(Detector):
    kind = "feed_silence"
    params_model = FeedSilenceParams

    def __init__(self, params: Params, ctx: DetectorContext) -> None:
        super().__init__(params, ctx)
        self.p: FeedSilenceParams = params  # type: ignore[assignment]
        self._reset()

    def _reset(self) -> None:
        self.heap: list[float] = []
        self.last: float | None = None  # last consumed event time
        self.fired: float | None = None  # `last` of the silence already reported
        self.hour: float | None = None  # hour being measured
        self.hour_n = 0
        self.hour_gap = 0.0
        self.stats: dict[str, list[list[float]]] = {}  # hour of week -> [[week, count, max gap], ...]

    def _push(self, ts: float) -> None:
        if self.last is not None and ts < self.last:
            return  # behind what was already consumed: too late to change a measured gap
        heapq.heappush(self.heap, ts)
        if len(self.heap) > self.p.max_buffer:
            self._consume(heapq.heappop(self.heap), [])

    def on_query(self, q: Query) -> Iterable[Finding]:
        self._push(q.ts)
        return ()

    def on_response(self, r: Response, q: Query | None) -> Iterable[Finding]:
        if self.p.include_responses:
            self._push(r.ts)
        return ()

    def on_watermark(self, watermark: float) -> Iterable[Finding]:
        out: list[Finding] = []
        while self.heap and self.heap[0] < watermark:
            self._consume(heapq.heappop(self.heap), out)
        # allowed_s is never below floor_s: shorter silences need no expectation (computed per hour)
        if self.last is not None and self.fired != self.last and watermark - self.last > self.p.floor_s:
            allowed = self.allowed(self.last)
            if watermark - self.last > allowed["allowed_s"]:
                out.append(self._finding(self.last, watermark, allowed, open_gap=True))
        return out

    def _consume(self, ts: float, out: list[Finding]) -> None:
        if self.last is not None:
            gap = ts - self.last
            if gap > self.p.floor_s and self.fired != self.last:  # cheap bound first (see on_watermark)
                allowed = self.allowed(self.last)
                if gap > allowed["allowed_s"]:
                    out.append(self._finding(self.last, ts, allowed, open_gap=False))
            self._measure(self.last, gap)
        self.last = ts

    def _measure(self, prev: float, gap: float) -> None:
        """Attribute a gap to the hour where it starts; close hours as time moves past them."""
        hour = float(int(prev // HOUR) * HOUR)
        if self.hour is not None and hour > self.hour:
            self._close_hour()
        if self.hour is None or hour > self.hour:
            self.hour, self.hour_n, self.hour_gap = hour, 0, 0.0
        self.hour_n += 1
        self.hour_gap = max(self.hour_gap, gap)
        # hours the gap spans entirely had no events: learn them as such, or quiet night hours
        # would never get statistics and stay on the warm-up allowance
        empty = hour + HOUR
        while empty + HOUR <= prev + gap and empty < hour + WEEK:
            self._close_hour()
            self.hour, self.hour_n, self.hour_gap = empty, 0, gap
            empty += HOUR

    def _close_hour(self) -> None:
        assert self.hour is not None
        slot = str(hour_of_week(self.hour))
        week = self.hour // WEEK
        rows = [r for r in self.stats.get(slot, []) if r[0] > week - self.p.weeks and r[0] != week]
        rows.append([week, float(self.hour_n), self.hour_gap])
        self.stats[slot] = rows

    def _samples(self, ts: float) -> list[list[float]]:
        how = hour_of_week(ts)
        rows = self.stats.get(str(how), [])
        if len(rows) < self.p.min_samples:  # fall back to the same hour on other days of the week
            rows = [r for d in range(7) for r in self.stats.get(str(d * 24 + how % 24), [])]
        return rows

    def expected(self, ts: float) -> dict[str, Any]:
        """Allowed silence for the hour of `ts`, with the numbers it comes from (for the evidence)."""
        rows = self._samples(ts)
        if len(rows) < self.p.min_samples:
            return {"allowed_s": self.p.floor_s * self.p.warmup_mult, "basis": "warmup", "hour_ts": ts}
        typical_gap = median([r[2] for r in rows])
        mean_gap = HOUR / max(1.0, median([r[1] for r in rows]))
        allowed = max(self.p.floor_s, self.p.k_gap * typical_gap, self.p.k_rate * mean_gap)
        return {"allowed_s": allowed, "basis": "learned", "typical_longest_gap_s": typical_gap,
                "mean_gap_s": mean_gap, "samples": len(rows), "hour_ts": ts}  # fmt: skip

    def allowed(self, last: float) -> dict[str, Any]:
        """Allowed silence after `last`: the largest expectation over the hours it would cover."""
        best = self.expected(last)
        t = float(int(last // HOUR) * HOUR) + HOUR
        while t < last + best["allowed_s"] and t < last + WEEK:
            cand = self.expected(t)
            if cand["allowed_s"] > best["allowed_s"]:
                best = cand
            t += HOUR
        return best

    def _finding(self, last: float, end: float, expectation: dict[str, Any], open_gap: bool) -> Finding:
        self.fired = last
        silent, allowed = end - last, expectation["allowed_s"]
        return Finding(
            detector=self.kind,
            severity="high",
            ori=None,
            group_key="feed",
            window_start=last,
            window_end=end,
            title="Query feed silent longer than expected",
            summary=f"No events since {iso(last)} ({silent:.0f} s; allowed {allowed:.0f} s at this hour).",
            evidence={
                "observed_value": round(silent, 3),
                "threshold": round(allowed, 3),
                "baseline": expectation.get("typical_longest_gap_s"),
                "last_event_ts": last,
                "still_silent": open_gap,
                "floor_s": self.p.floor_s,
                "k_gap": self.p.k_gap,
                "k_rate": self.p.k_rate,
                "warmup_mult": self.p.warmup_mult,
                **{k: v for k, v in expectation.items() if k != "allowed_s"},
            },
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "heap": sorted(self.heap),
            "last": self.last,
            "fired": self.fired,
            "hour": self.hour,
            "hour_n": self.hour_n,
            "hour_gap": self.hour_gap,
            "stats": self.stats,
        }

    def restore(self, state: dict[str, Any]) -> None:
        self._reset()
        self.heap = [float(t) for t in state.get("heap", [])]
        heapq.heapify(self.heap)
        self.last, self.fired, self.hour = state.get("last"), state.get("fired"), state.get("hour")
        self.hour_n, self.hour_gap = int(state.get("hour_n", 0)), float(state.get("hour_gap", 0.0))
        self.stats = {k: [list(r) for r in v] for k, v in state.get("stats", {}).items()}

    def state_size(self) -> int:
        return len(self.heap) + len(self.stats)
