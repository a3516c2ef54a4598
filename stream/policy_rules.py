"""One state's restrictions on immigration-enforcement access, and how a query is checked against them.

A state file (`deploy/policies/states/XX.yaml`) becomes a `StateRules`: who is a restricted requester,
and a list of `Rule`s, each with a stable `rule_id`, an effective date range and the checks it makes.
`StateRules.violations(q)` lists every rule a query breaks for that destination state. Pure and cheap:
detectors call it on the hot path. Loading and error reporting live in `stream.policy`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from stream.records import Agency, Query

Predicate = Literal["judicial_warrant", "court_order", "subpoena", "administrative_warrant", "consent"]
MessageKey = Literal[
    "DQ", "DQG", "DNQ", "KQ", "RQ", "RQG", "RNQ", "RPQ", "BQ", "CPQ", "IAQ", "IQ", "FQ", "AQ", "YQ", "LQ",
    "AM", "S2S", "FRS",
]  # fmt: skip
SearchMode = Literal[
    "oln", "name_dob_sex", "name_only", "plate", "partial_plate", "vin", "owner_name", "face_image",
    "ssn_last5",
]  # fmt: skip
Source = Literal["nlets", "state_switch", "s2s", "face"]
PurposeCode = Literal["A", "C", "D", "E", "F", "H", "I", "J", "R", "S", "V", "X"]
Severity = Literal["info", "warning", "high", "critical"]

# Bulk / sweep-shaped searches: name-only, owner-name and wildcard plate look-ups (brief 1.2, 7.5).
BULK_KEYS: frozenset[str] = frozenset({"DNQ", "RNQ", "RPQ"})
BULK_MODES: frozenset[str] = frozenset({"name_only", "owner_name", "partial_plate"})
_RULE_ID = re.compile(r"^[A-Z]{2}(-[A-Z0-9.]+)+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleHit(NamedTuple):
    """One broken rule. `reason` is a bounded label (safe as a metric label or a group key part)."""

    rule_id: str
    reason: str
    severity: str


class Requesters(_Strict):
    """A requester class: agencies primarily enforcing immigration law and/or listed components."""

    immigration_enforcement: StrictBool = False
    components: list[str] = Field(default_factory=list)

    def match(self, agency: Agency) -> bool:
        if self.immigration_enforcement and agency.immigration_enforcement:
            return True
        return agency.component is not None and agency.component in self.components


class CarveOut(_Strict):
    """A statutory exception: a query matching every listed (non-empty) criterion is exempt."""

    name: str = Field(min_length=1)
    sources: list[Source] = Field(default_factory=list)
    message_keys: list[MessageKey] = Field(default_factory=list)
    search_modes: list[SearchMode] = Field(default_factory=list)
    purpose_codes: list[PurposeCode] = Field(default_factory=list)
    components: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> CarveOut:
        if not (self.sources or self.message_keys or self.search_modes or self.purpose_codes):
            raise ValueError("a carve-out needs sources, message_keys, search_modes or purpose_codes")
        return self

    def covers(self, q: Query) -> bool:
        checks = (
            (self.sources, q.source),
            (self.message_keys, q.message_key),
            (self.search_modes, q.search_mode),
            (self.purpose_codes, q.purpose_code),
            (self.components, q.agency.component),
        )
        return all(not allowed or value in allowed for allowed, value in checks)


class Rule(_Strict):
    """One restriction. Each set field is one check; a rule can break for several reasons at once."""

    rule_id: str
    summary: str = Field(min_length=1, max_length=300)
    effective_from: date
    effective_until: date | None = None
    severity: Severity = "high"
    applies_to: Requesters | None = None  # None: the state's `restricted_requesters`
    switch_enforced: StrictBool | None = None  # None: the state's `switch_blocks`
    # Access: None = no predicate check; [] = no access at all; else the predicates that satisfy it.
    allowed_predicates: list[Predicate] | None = None
    case_number_required: StrictBool = False
    forbidden_message_keys: list[MessageKey] = Field(default_factory=list)
    forbidden_search_modes: list[SearchMode] = Field(default_factory=list)
    face_recognition_ban: StrictBool = False
    photo_ban: StrictBool = False
    # The whole rule does not apply to a query carrying one of these predicates (e.g. a statute whose
    # photo ban a court order lifts).
    lifted_by: list[Predicate] = Field(default_factory=list)
    bulk_ban: StrictBool = False
    allowed_purpose_codes: list[PurposeCode] | None = None
    carve_outs: list[CarveOut] = Field(default_factory=list)

    @field_validator("rule_id")
    @classmethod
    def _rule_id(cls, v: str) -> str:
        if not _RULE_ID.match(v):
            raise ValueError("rule_id must look like 'NY-VTL201-12-JUDICIAL' (state code, dash, A-Z0-9.)")
        return v

    @model_validator(mode="after")
    def _dates(self) -> Rule:
        if self.effective_until is not None and self.effective_until <= self.effective_from:
            raise ValueError("effective_until must be after effective_from")
        return self

    def active(self, ts: float) -> bool:
        day = datetime.fromtimestamp(ts, UTC).date()
        return self.effective_from <= day and (self.effective_until is None or day < self.effective_until)

    def reasons(self, q: Query) -> list[str]:
        """Every reason this rule is broken by `q` (the caller has checked requester and dates)."""
        if any(c.covers(q) for c in self.carve_outs) or q.predicate in self.lifted_by:
            return []
        out = self._access_reasons(q)
        if q.message_key in self.forbidden_message_keys:
            out.append("forbidden_message_key")
        if q.search_mode in self.forbidden_search_modes:
            out.append("forbidden_search_mode")
        if self.face_recognition_ban and (q.source == "face" or q.search_mode == "face_image"):
            out.append("face_search_banned")
        if self.photo_ban and (q.image_requested or q.message_key == "CPQ"):
            out.append("photo_request_banned")
        if self.bulk_ban and (q.message_key in BULK_KEYS or q.search_mode in BULK_MODES):
            out.append("bulk_search_banned")
        if self.allowed_purpose_codes is not None and q.purpose_code not in self.allowed_purpose_codes:
            out.append("purpose_code")
        return out

    def _access_reasons(self, q: Query) -> list[str]:
        out: list[str] = []
        if self.allowed_predicates is not None:
            if not self.allowed_predicates:
                out.append("restricted_agency_blocked")
            elif q.predicate not in self.allowed_predicates:
                admin = q.predicate == "administrative_warrant"
                out.append("administrative_warrant" if admin else "restricted_agency_no_predicate")
        if self.case_number_required and not q.has_case_number:
            out.append("missing_case_number")
        return out


class StateRules(_Strict):
    """A destination state's policy (one YAML file per state)."""

    state: str = Field(pattern=r"^[A-Z]{2}$")
    name: str = Field(min_length=1)
    switch_blocks: StrictBool
    restricted_requesters: Requesters
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _rule_ids(self) -> StateRules:
        seen: set[str] = set()
        for rule in self.rules:
            if not rule.rule_id.startswith(f"{self.state}-"):
                raise ValueError(f"rule_id {rule.rule_id} must start with '{self.state}-'")
            if rule.rule_id in seen:
                raise ValueError(f"duplicate rule_id {rule.rule_id}")
            if rule.switch_enforced and not self.switch_blocks:
                raise ValueError(f"{rule.rule_id}: switch_enforced needs switch_blocks: true")
            seen.add(rule.rule_id)
        return self

    def _requesters(self, rule: Rule) -> Requesters:
        return rule.applies_to or self.restricted_requesters

    def restricts(self, agency: Agency, ts: float) -> bool:
        """Is `agency` a restricted requester for this state at event time `ts`?"""
        return any(r.active(ts) and self._requesters(r).match(agency) for r in self.rules)

    @property
    def face_recognition_ban(self) -> bool:
        return any(r.face_recognition_ban for r in self.rules)

    @property
    def photo_ban(self) -> bool:
        return any(r.photo_ban for r in self.rules)

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.rule_id == rule_id), None)

    def enforced(self, rule: Rule) -> bool:
        """Would this state's switch block a query breaking `rule`?"""
        return self.switch_blocks if rule.switch_enforced is None else rule.switch_enforced

    def violations(self, q: Query) -> list[RuleHit]:
        """Every rule `q` breaks for this destination state, at the query's own event time."""
        hits: list[RuleHit] = []
        for rule in self.rules:
            if not rule.active(q.ts) or not self._requesters(rule).match(q.agency):
                continue
            hits.extend(RuleHit(rule.rule_id, reason, rule.severity) for reason in rule.reasons(q))
        return hits

    def blocking_violations(self, q: Query) -> list[RuleHit]:
        """The violations this state's switch is meant to block (what `policy_leak` watches)."""
        enforced = {r.rule_id for r in self.rules if self.enforced(r)}
        return [h for h in self.violations(q) if h.rule_id in enforced]
