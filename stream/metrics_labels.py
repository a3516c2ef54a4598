"""Bounded label vocabularies of the Prometheus metrics, and the functions that map records onto them.

Every label value the monitor can export is listed here, so `stream.metrics` can create all series at
zero at start-up and the series count stays fixed however much traffic flows (design principle 7).
Anything outside a vocabulary folds into an explicit catch-all value ("other", "unknown"). No ORI,
operator, subject or plate ever becomes a label value.
"""

from __future__ import annotations

from stream.alerting.stages import DECISION_PAIRS
from stream.contract import CATEGORIES
from stream.decode import DLQ_REASONS
from stream.findings import DETECTORS
from stream.findings import SEVERITIES as SEVERITY_VALUES
from stream.records import FEDERAL_COMPONENTS, IMMIGRATION_COMPONENTS, Agency, Query, Response

# 50 states, DC and the five inhabited territories: the two-letter DMV jurisdictions.
STATES: tuple[str, ...] = (
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY",
    "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV",
    "WI", "WY", "DC", "PR", "GU", "VI", "AS", "MP",
)  # fmt: skip
# Query destinations: a state, NL (multi-state broadcast), AX (ICE LESC), or "other" (9-char ORIs,
# region codes, anything unexpected).
DESTINATIONS: tuple[str, ...] = (*STATES, "NL", "AX", "other")
RESPONDING_STATES: tuple[str, ...] = (*STATES, "other")
# Requester class = Agency.peer_group: the federal component, else the agency category.
REQUESTER_CLASSES: tuple[str, ...] = (*FEDERAL_COMPONENTS, *CATEGORIES, "unknown")
# Responses whose query was not seen within the join window have no requester class.
RESPONSE_CLASSES: tuple[str, ...] = (*REQUESTER_CLASSES, "unjoined")
CATEGORY_LABELS: tuple[str, ...] = (*CATEGORIES, "unknown")
COMPONENTS: tuple[str, ...] = (*FEDERAL_COMPONENTS, "none")
# Immigration-enforcement requesters: the four DHS components, plus any other agency the registry
# flags as primarily enforcing immigration law (e.g. a 287(g) task force).
IMMIGRATION_LABELS: tuple[str, ...] = (*IMMIGRATION_COMPONENTS, "other_flagged")
RESULTS: tuple[str, ...] = ("answered", "leak", "blocked", "unanswered")
LATE_KINDS: tuple[str, ...] = ("query", "response")
DLQ_LABELS: tuple[str, ...] = (*DLQ_REASONS, "other")
DETECTOR_LABELS: tuple[str, ...] = (*DETECTORS, "other")
SEVERITIES: tuple[str, ...] = SEVERITY_VALUES
MAX_STAGE_SERIES = 200  # alert-stage series, including ones admitted on first use
# (stage, decision) pairs the alert stages report (owned by stream/alerting/stages.py).
STAGE_DECISIONS: tuple[tuple[str, str], ...] = DECISION_PAIRS

_DEST = {d: d for d in DESTINATIONS}
_STATE = {s: s for s in STATES}
_CLASS = {c: c for c in REQUESTER_CLASSES}
_FEDERAL = frozenset(FEDERAL_COMPONENTS)
_IMMIGRATION = frozenset(IMMIGRATION_COMPONENTS)


def destination(code: str) -> str:
    return _DEST.get(code, "other")


def responding_state(code: str) -> str:
    return _STATE.get(code, "other")


def destinations(q: Query) -> tuple[str, ...]:
    """Destination labels of one query message.

    A multi-state parent counts under NL; each of its children counts under its own state. So a
    broadcast to 3 states adds NL:1 and one per state, and the NL series counts broadcasts.
    """
    if len(q.destinations) == 1:
        return (_DEST.get(q.destinations[0], "other"),)
    return tuple({_DEST.get(d, "other") for d in q.destinations})


def requester_class(agency: Agency) -> str:
    return _CLASS.get(agency.peer_group, "unknown")


def component(agency: Agency) -> str:
    if agency.component:
        return agency.component if agency.component in _FEDERAL else "other_federal"
    return "other_federal" if agency.category == "FE" else "none"


def immigration_label(agency: Agency) -> str | None:
    """The immigration-enforcement label of a requester, or None when it is not one."""
    if agency.component in _IMMIGRATION:
        return agency.component
    return "other_flagged" if agency.immigration_enforcement else None


def result(r: Response, leak: bool) -> str:
    if leak:
        return "leak"
    if r.blocked:
        return "blocked"
    return "answered" if r.answered else "unanswered"


def bounded(value: str, known: tuple[str, ...], fallback: str = "other") -> str:
    return value if value in known else fallback


def product(*sets: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """Every combination of the given label vocabularies, in order."""
    out: list[tuple[str, ...]] = [()]
    for s in sets:
        out = [(*k, v) for k in out for v in s]
    return tuple(out)
