"""policy_violation: queries that break the destination state's restrictions (brief 4.3, scenario
"restricted-use violation").

Each query is checked against the rules of every 2-letter state it goes to (`StateRules.violations`):
per-state children of a multi-state query carry their state; an `NL` parent has none and is skipped.
To keep on-call load sane, findings are grouped: one per (ORI, state, rule_id, aligned window), raised
at its first query (it pages at once), with counts per reason, message key and predicate and sample event ids.
A violation must never vanish, so late events go to a separate "late" bucket (see `_groups`).
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
from stream.records import Query


class PolicyViolationParams(WindowParams):
    min_count: int = Field(1, ge=1, le=10_000, description="Violating queries per group and window.")
    fire_early: bool = True  # a violation pages at its first query, not an hour later


@register
class PolicyViolation(GroupedRuleDetector):
    kind = "policy_violation"
    params_model = PolicyViolationParams

    def __init__(self, params: PolicyViolationParams, ctx: DetectorContext) -> None:
        super().__init__(params, ctx)
        self.p = params
        self.groups = Groups(params, late="rebucket")

    def on_query(self, q: Query) -> Iterable[Finding]:
        out: list[Finding] = []
        for state in q.state_destinations:
            rules = self.ctx.policy.state(state)
            if rules is None:
                continue
            by_rule: dict[str, list[tuple[str, str]]] = {}
            for hit in rules.violations(q):
                by_rule.setdefault(hit.rule_id, []).append((hit.reason, hit.severity))
            for rule_id, hits in by_rule.items():
                b = self._add(q, state, rule_id, hits)
                if due_now(b, self.p, self.p.min_count):
                    out.append(self._finding(b))  # type: ignore[arg-type]
        return out

    def _add(self, q: Query, state: str, rule_id: str, hits: list[tuple[str, str]]) -> Bucket | None:
        # Severity comes from the rule in the pack (default "high"), so it is fixed per group.
        attrs = {"ori": q.ori, "state": state, "rule_id": rule_id, "severity": hits[0][1]}
        b = self.groups.add(f"{q.ori}|{state}|{rule_id}", q.ts, q.event_id, attrs)
        if b is None:
            return None
        for reason, _ in hits:
            b.tally("reason", reason)
        b.tally("message_key", q.message_key)
        b.tally("predicate", q.predicate)
        b.tally("component", q.agency.component or q.agency.category)
        return b

    def _finding(self, b: Bucket) -> Finding:
        ori, state, rule_id = b.attrs["ori"], b.attrs["state"], b.attrs["rule_id"]
        ev: dict[str, Any] = base_evidence(b, self.p, self.p.min_count)
        ev.update(policy_rule_id=rule_id, destination_state=state)
        severity = b.attrs.get("severity", "high")
        reasons = ", ".join(sorted(b.tallies.get("reason", {})))
        title = f"{ori} broke {rule_id} querying {state}: {b.count} queries ({reasons})"
        return finding(self.kind, severity, b, title, ev)
