"""blocked_retry: one requester keeps hitting a state's block (scenario "post-block retries").

A single BLOCKED_BY_POLICY answer is the block working; many from one ORI in a window is probing it
(WSP reported "thousands" of rejected ICE attempts after Washington's block, brief 4.3). Responses carry
no requester, so the joined query's ORI is used; an unjoined response is not attributable and is skipped.
Counted per ORI per aligned window over the outcomes listed in `outcomes` (by default the policy block
and SM .04. "on remove status", which some switches answer to a removed ORI). Windowed threshold: late
events whose window already closed are dropped (counted in the snapshot), not re-bucketed.
A slow prober (a couple of retries an hour all day) never fills one hour, so blocks are also counted per
ORI per aligned day (`day_min_count`); a day whose hours already fired is not reported again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import Field, model_validator

from stream.detectors import register
from stream.detectors._groups import Bucket, Groups, WindowParams, base_evidence, finding
from stream.detectors.base import Detector, DetectorContext
from stream.findings import Finding
from stream.records import Query, Response

Outcome = Literal[
    "BLOCKED_BY_POLICY", "SM_01", "SM_04", "REJECTED_FORMAT", "FILE_NOT_AVAILABLE",
]  # fmt: skip
_DAY = 86_400


class BlockedRetryParams(WindowParams):
    min_count: int = Field(5, ge=2, le=100_000, description="Blocked answers per ORI and window to fire.")
    high_count: int = Field(50, ge=2, le=1_000_000, description="From this count the severity is high.")
    outcomes: tuple[Outcome, ...] = Field(
        ("BLOCKED_BY_POLICY", "SM_04"), min_length=1, description="Outcomes that count as a block."
    )
    day_min_count: int = Field(
        10, ge=2, le=1_000_000, description="Blocked answers per ORI and aligned day to fire (slow probing)."
    )

    @model_validator(mode="after")
    def _order(self) -> BlockedRetryParams:
        if self.high_count < self.min_count:
            raise ValueError("high_count must be >= min_count")
        return self


@register
class BlockedRetry(Detector):
    kind = "blocked_retry"
    params_model = BlockedRetryParams

    def __init__(self, params: BlockedRetryParams, ctx: DetectorContext) -> None:
        super().__init__(params, ctx)
        self.p = params
        self.groups = Groups(params, late="drop")
        self.day_params = params.model_copy(update={"window_s": _DAY})
        self.days = Groups(self.day_params, late="drop")
        self.fired_days: set[str] = set()  # "ori@day" whose hourly count already fired

    def on_response(self, r: Response, q: Query | None) -> Iterable[Finding]:
        if q is None or r.outcome not in self.p.outcomes:
            return ()
        for groups, group in ((self.groups, q.ori), (self.days, f"{q.ori}|day")):
            b = groups.add(group, r.ts, r.event_id, {"ori": q.ori})
            if b is not None:
                b.tally("outcome", r.outcome)
                b.tally("state", r.responding_state)
                b.tally("switch_rule", r.policy_rule_id or "none")
                b.tally("message_key", q.message_key)
                b.sample("query_ids", q.event_id, self.p.sample_size)
        return ()

    def on_watermark(self, watermark: float) -> Iterable[Finding]:
        out = []
        for b in self.groups.close(watermark):
            if b.count >= self.p.min_count:
                out.append(self._finding(b, self.p, self.p.min_count))
                self.fired_days.add(_day_key(b.attrs["ori"], b.start))
        for b in self.days.close(watermark):  # after the hours: a day closes with its last hour
            key = _day_key(b.attrs["ori"], b.start)
            if b.count >= self.p.day_min_count and key not in self.fired_days:
                out.append(self._finding(b, self.day_params, self.p.day_min_count))
            self.fired_days.discard(key)
        return out

    def _finding(self, b: Bucket, params: BlockedRetryParams, threshold: int) -> Finding:
        ev: dict[str, Any] = base_evidence(b, params, threshold)
        ev["high_threshold"] = self.p.high_count
        states = b.tallies.get("state", {})
        ev["distinct_states"] = len(states)
        severity = "high" if b.count >= self.p.high_count else "warning"
        top = max(sorted(states), key=lambda s: states[s]) if states else "?"
        title = f"{b.attrs['ori']} retried past a policy block {b.count} times (mostly {top})"
        f = finding(self.kind, severity, b, title, ev)
        f.destination_state = top if len(states) == 1 else None
        return f

    def snapshot(self) -> dict[str, Any]:
        return {**self.groups.snapshot(), "days": self.days.snapshot(), "fired_days": sorted(self.fired_days)}

    def restore(self, state: dict[str, Any]) -> None:
        self.groups.restore(state)
        self.days.restore(state.get("days", {}))
        self.fired_days = set(state.get("fired_days", []))

    def state_size(self) -> int:
        return len(self.groups) + len(self.days)


def _day_key(ori: str, start: float) -> str:
    return f"{ori}@{math.floor(start / _DAY) * _DAY:.0f}"
