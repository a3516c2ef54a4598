"""Bounded label vocabularies of the Prometheus metrics, and the functions that map records onto them.

Every label value the monitor can export is listed here, so `stream.metrics` can create all series at
zero at start-up and the series count stays fixed however much traffic flows (design principle 7).
Anything outside a vocabulary folds into an explicit catch-all value ("other", "unknown"). No ORI,
operator, subject or plate ever becomes a label value.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

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


SEVERITIES: tuple[str, ...] = SEVERITY_VALUES
MAX_STAGE_SERIES = 200  # alert-stage series, including ones admitted on first use


@dataclass(frozen=True, slots=True)
class CounterSpec:
    """A labelled hot-path counter and every label combination it may take."""

    name: str  # without the `_total` suffix, as CounterMetricFamily wants it
    doc: str
    labels: tuple[str, ...]
    keys: tuple[tuple[str, ...], ...]


class CounterTable:
    """A labelled counter kept as plain numbers in a dict and exported at scrape time.

    All keys exist from the start (value 0) and none is ever added, so a scrape thread can read the
    dict while the consumer thread increments it (no resize, no lock needed under the GIL).
    """

    __slots__ = ("spec", "values")

    def __init__(self, spec: CounterSpec) -> None:
        self.spec = spec
        self.values: dict[tuple[str, ...], float] = dict.fromkeys(spec.keys, 0)

    def family(self) -> CounterMetricFamily:
        fam = CounterMetricFamily(self.spec.name, self.spec.doc, labels=self.spec.labels)
        for key, value in list(self.values.items()):
            fam.add_metric(key, value)
        return fam


def product(*sets: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """Every combination of the given label vocabularies, in order."""
    out: list[tuple[str, ...]] = [()]
    for s in sets:
        out = [(*k, v) for k in out for v in s]
    return tuple(out)


class HistogramTable:
    """An unlabelled histogram kept as plain per-bucket counts, exported cumulatively at scrape time.

    For per-event observations: `bisect` plus two additions instead of a locked child per observe.
    Buckets follow Prometheus' `le` semantics (an observation equal to a bound falls in that bucket).
    """

    __slots__ = ("bounds", "counts", "doc", "name", "sum")

    def __init__(self, name: str, doc: str, bounds: tuple[float, ...]) -> None:
        self.name, self.doc, self.bounds = name, doc, bounds
        self.counts = [0] * (len(bounds) + 1)  # the last slot is +Inf
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def family(self) -> HistogramMetricFamily:
        cumulative, buckets = 0, []
        for bound, n in zip((*map(floatToGoString, self.bounds), "+Inf"), list(self.counts), strict=True):
            cumulative += n
            buckets.append((bound, cumulative))
        return HistogramMetricFamily(self.name, self.doc, buckets=buckets, sum_value=self.sum)
