"""Findings (what a detector saw) and alerts (a finding with identity, per alert.v1.schema.json)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DETECTORS: tuple[str, ...] = (
    "bulk_sweep",
    "agency_spike",
    "photo_face_match",
    "policy_violation",
    "policy_leak",
    "blocked_retry",
    "agency_substitution",
    "subject_focus",
    "sensitive_targeting",
    "s2s_misuse",
    "new_requester",
    "feed_silence",
)
SEVERITIES: tuple[str, ...] = ("info", "warning", "high", "critical")
Severity = Literal["info", "warning", "high", "critical"]
Status = Literal["firing", "acknowledged", "resolved", "silenced"]


def iso(ts: float) -> str:
    """Event-time seconds -> RFC 3339 UTC with milliseconds (stable text for fingerprints)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ts * 1000) % 1000:03d}Z"


@dataclass(slots=True)
class Finding:
    """What a detector returns. `group_key` + `window_start` identify the finding deterministically:
    re-deriving it after a restart or in a replay gives the same alert id."""

    detector: str
    severity: str
    ori: str | None
    group_key: str
    window_start: float
    window_end: float
    title: str
    evidence: dict[str, Any]
    summary: str = ""
    operator_id: str | None = None
    destination_state: str | None = None
    policy_rule_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def alert_id(self, policy_version: str) -> str:
        material = "|".join((self.detector, policy_version, self.group_key, iso(self.window_start)))
        return hashlib.sha256(material.encode()).hexdigest()[:32]


class Alert(BaseModel):
    """The alert contract. Extra fields are allowed by the schema; ours are documented here."""

    model_config = ConfigDict(extra="allow")

    schema_: Literal["dmvq.alert.v1"] = Field(default="dmvq.alert.v1", alias="schema")
    alert_id: str
    detector: str
    severity: Severity
    ori: str | None
    operator_id: str | None = None
    destination_state: str | None = None
    window_start: str
    window_end: str
    title: str = Field(max_length=200)
    summary: str = ""
    evidence: dict[str, Any]
    policy_rule_id: str | None = None
    runbook: str | None = None
    status: Status = "firing"
    raised_at: str | None = None
    group_key: str = ""
    policy_version: str = ""

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


def to_alert(
    finding: Finding, policy_version: str, raised_at: float | None, runbook_base: str = "docs/runbooks"
) -> Alert:
    return Alert(
        alert_id=finding.alert_id(policy_version),
        detector=finding.detector,
        severity=finding.severity,  # type: ignore[arg-type]
        ori=finding.ori,
        operator_id=finding.operator_id,
        destination_state=finding.destination_state,
        window_start=iso(finding.window_start),
        window_end=iso(finding.window_end),
        title=finding.title[:200],
        summary=finding.summary,
        evidence=finding.evidence,
        policy_rule_id=finding.policy_rule_id,
        runbook=f"{runbook_base}/{finding.detector}.md",
        status="firing",
        raised_at=None if raised_at is None else iso(raised_at),
        group_key=finding.group_key,
        policy_version=policy_version,
    )
