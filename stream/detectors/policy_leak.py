"""policy_leak (critical): data answered to a query the responding state's switch must block.

A response with data (HIT / MULTI_HIT) joined to its query, where the responding state's switch
enforces blocks and the query breaks a switch-enforced rule at the query's own time
(`StateRules.blocking_violations`). Rules a state sets in law but does not enforce at its switch (for
example Washington's court-order rule, which CBP still passes) are `policy_violation`'s business, not
a leak. Without the joined query there is no requester to judge, so no finding.

One finding per (ORI, state, rule_id, aligned window of the response time), raised at the first
leaked answer (critical: it pages at once; evidence as of that answer).
Late responses go to a separate "late" bucket rather than vanish (see `_groups`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import Field

from stream.detectors import register
from stream.detectors._groups import (
    Bucket,
    GroupedRuleDetector,
    Groups,
    WindowParams,
    base_evidence,
    due_now,
    finding,
)
from stream.detectors.base import DetectorContext
from stream.findings import Finding
from stream.records import Query, Response


class PolicyLeakParams(WindowParams):
    min_count: int = Field(1, ge=1, le=10_000, description="Leaked answers per group and window.")
    fire_early: bool = True  # critical: pages at the first leaked answer


@register
class PolicyLeak(GroupedRuleDetector):
    kind = "policy_leak"
    params_model = PolicyLeakParams

    def __init__(self, params: PolicyLeakParams, ctx: DetectorContext) -> None:
        super().__init__(params, ctx)
        self.p = params
        self.groups = Groups(params, late="rebucket")

    def on_response(self, r: Response, q: Query | None) -> Iterable[Finding]:
        if q is None or not r.answered:
            return ()
        rules = self.ctx.policy.state(r.responding_state)
        if rules is None or not rules.switch_blocks:
            return ()
        reasons: dict[str, list[str]] = {}
        for hit in rules.blocking_violations(q):
            reasons.setdefault(hit.rule_id, []).append(hit.reason)
        out: list[Finding] = []
        for rule_id, why in reasons.items():
            b = self._add(r, q, rule_id, why)
            if due_now(b, self.p, self.p.min_count):
                out.append(self._finding(b))  # type: ignore[arg-type]
        return out

    def _add(self, r: Response, q: Query, rule_id: str, reasons: list[str]) -> Bucket | None:
        attrs = {"ori": q.ori, "state": r.responding_state, "rule_id": rule_id}
        b = self.groups.add(f"{q.ori}|{r.responding_state}|{rule_id}", r.ts, r.event_id, attrs)
        if b is None:
            return None
        for reason in reasons:
            b.tally("reason", reason)
        b.tally("outcome", r.outcome)
        b.tally("message_key", q.message_key)
        b.tally("photo_returned", str(r.photo_returned).lower())
        b.tally("records", "returned", r.record_count)
        b.sample("query_ids", q.event_id, self.p.sample_size)
        return b

    def _finding(self, b: Bucket) -> Finding:
        ori, state, rule_id = b.attrs["ori"], b.attrs["state"], b.attrs["rule_id"]
        ev: dict[str, Any] = base_evidence(b, self.p, self.p.min_count)
        ev.update(policy_rule_id=rule_id, responding_state=state)
        title = f"{state} answered {b.count} queries from {ori} that {rule_id} blocks"
        return finding(self.kind, "critical", b, title, ev)
