"""Pure muters: silences and inhibition rules (Alertmanager's `Muter` idea: labels in, a reason out).

A silence is a set of exact label matchers (detector, ori, state, severity) with an author, a comment and a
time range; it mutes matching alerts while active. An inhibition rule mutes alerts matching `target` while
an open alert matching `source` has the same values for the `equal` labels; by default a `policy_leak`
mutes `policy_violation` alerts for the same ORI and state, since the leak alert already covers them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from stream.alerting.stages import Decision
from stream.settings import InhibitRule

MATCHABLE: tuple[str, ...] = ("detector", "ori", "state", "severity")
SilenceState = Literal["pending", "active", "expired"]


class Silence(BaseModel):
    """A time-bounded, attributed silence. Expiring one sets `ends_at` to now (kept for the audit)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    matchers: dict[str, str]
    author: str = Field(min_length=1)
    comment: str = Field(min_length=1)
    starts_at: float
    ends_at: float
    created_at: float

    @field_validator("matchers")
    @classmethod
    def _known_labels(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = set(v) - set(MATCHABLE)
        if not v or unknown:
            raise ValueError(f"matchers need at least one of {MATCHABLE}; unknown: {sorted(unknown)}")
        return v

    @model_validator(mode="after")
    def _ordered(self) -> Silence:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


def silence_state(s: Silence, now: float) -> SilenceState:
    if now < s.starts_at:
        return "pending"
    return "active" if now < s.ends_at else "expired"


def matches(matchers: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(name, "") == value for name, value in matchers.items())


def silenced_by(labels: dict[str, str], silences: Iterable[Silence], now: float) -> Silence | None:
    """The active silence that mutes these labels, the one lasting longest when several do."""
    active = [s for s in silences if silence_state(s, now) == "active" and matches(s.matchers, labels)]
    return max(active, key=lambda s: (s.ends_at, s.id)) if active else None


def inhibited_by(
    labels: dict[str, str],
    sources: Iterable[dict[str, str]],
    rules: Iterable[InhibitRule],
) -> InhibitRule | None:
    """The first rule under which one of the open `sources` mutes `labels` (never the alert itself)."""
    pool = list(sources)
    for rule in rules:
        if not matches(rule.target, labels):
            continue
        for src in pool:
            same = all(src.get(e, "") == labels.get(e, "") for e in rule.equal)
            if same and matches(rule.source, src) and src != labels:
                return rule
    return None


def mute_decision(
    labels: dict[str, str],
    now: float,
    silences: Iterable[Silence],
    sources: Iterable[dict[str, str]],
    rules: Iterable[InhibitRule],
) -> Decision | None:
    """Silences first, then inhibition (both mute; the silence is the operator's explicit choice)."""
    sil = silenced_by(labels, silences, now)
    if sil is not None:
        return Decision("silence", "silenced", sil.ends_at, sil.id)
    rule = inhibited_by(labels, sources, rules)
    if rule is not None:
        return Decision("inhibit", "inhibited", None, rule.name)
    return None
