"""The monitor's own, already-private view of an event: what detectors, aggregates and sinks see.

Built from a validated contract model by `stream.decode`, after pseudonymization. Nothing here holds
clear-text personal data: subjects are keyed hashes, the SSN fragment is reduced to a placeholder flag.
Plain slotted dataclasses keep the hot path cheap and the state easy to snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

IMMIGRATION_COMPONENTS: tuple[str, ...] = ("ICE-ERO", "HSI", "CBP", "USBP")
FEDERAL_COMPONENTS: tuple[str, ...] = (*IMMIGRATION_COMPONENTS, "FBI", "DEA", "USMS", "other_federal")
ANSWERED_OUTCOMES: frozenset[str] = frozenset({"HIT", "MULTI_HIT"})


@dataclass(slots=True, frozen=True)
class Agency:
    """Who the accountable requester is; from the event's enrichment or the agency registry."""

    ori: str
    category: str = "unknown"  # a contract category or "unknown"
    component: str | None = None  # e.g. ICE-ERO, HSI, CBP; None for non-federal agencies
    parent_org: str | None = None
    immigration_enforcement: bool = False
    known: bool = False  # True when the registry or the event described this agency

    @property
    def home_state(self) -> str:
        return self.ori[:2]

    @property
    def federal(self) -> bool:
        return self.category == "FE" or self.component is not None

    @property
    def peer_group(self) -> str:
        """Bounded label for peer comparison: the component for federal agencies, else the category."""
        if self.component:
            return self.component if self.component in FEDERAL_COMPONENTS else "other_federal"
        return self.category


@dataclass(slots=True)
class Query:
    event_id: str
    ts: float  # event time, epoch seconds UTC
    source: str
    message_key: str
    ori: str
    agency: Agency
    destinations: tuple[str, ...]
    search_mode: str
    subject_key: str | None = None  # keyed hash (ours), never clear text
    subject_key_prev: str | None = None  # the same subject under the previous key (rotation overlap)
    pattern: str | None = None  # wildcard pattern of partial-plate / name-prefix searches
    operator_id: str | None = None
    parent_query_id: str | None = None
    purpose_code: str | None = None
    reason_code: str | None = None
    has_case_number: bool = False
    predicate: str = "none"  # legal_predicate.type, "none" when missing
    image_requested: bool = False
    ssn_placeholder: bool = False  # search.ssn_last5 == "99999"
    has_application: bool = False  # S2S: in_person_application_id present
    origin_tz: str | None = None
    first_of_logical: bool = True  # set by the pipeline: first event seen of this logical query
    _states: tuple[str, ...] | None = field(default=None, compare=False, repr=False)  # memo

    @property
    def logical_id(self) -> str:
        return self.parent_query_id or self.event_id

    @property
    def is_child(self) -> bool:
        return self.parent_query_id is not None

    @property
    def multi_state(self) -> bool:
        return "NL" in self.destinations

    @property
    def state_destinations(self) -> tuple[str, ...]:
        """Two-letter state destinations (not NL, AX or 9-character ORIs); computed once."""
        states = self._states
        if states is None:
            states = self._states = tuple(
                d for d in self.destinations if len(d) == 2 and d not in ("NL", "AX")
            )
        return states


@dataclass(slots=True)
class Response:
    event_id: str
    ts: float
    in_reply_to: str
    responding_state: str
    outcome: str
    message_key: str | None = None
    policy_rule_id: str | None = None
    record_count: int = 0
    photo_returned: bool = False
    face_candidates: int | None = None
    record_flags: tuple[str, ...] = field(default_factory=tuple)
    latency_ms: int | None = None

    @property
    def answered(self) -> bool:
        return self.outcome in ANSWERED_OUTCOMES

    @property
    def blocked(self) -> bool:
        return self.outcome == "BLOCKED_BY_POLICY"


Event = Query | Response
