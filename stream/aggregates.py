"""Monthly oversight counters: pure, no I/O. The runtime feeds events, drains deltas at each checkpoint.

`drain()` returns `{month: {counter key: increment}}` accumulated since the last drain; the runtime stages
it into Redis (`stream.export.store.AggregateStore.stage`) in the same MULTI/EXEC as alerts and offsets,
so a restart replays from committed offsets and never double-counts. The month is `YYYY-MM` of the
event's own time (UTC), never the wall clock, so a replay files every event under the same month.

Counter keys are `|`-separated fields; the first field names the family (docs/export-columns.md):

    a|<ori>|<category>|<component>|<imm>       query events, by agency identity (imm: 1 = immigration)
    q|<ori>|<component>|<dest>|<msgkey>        query events per destination (per-state children counted
                                               here under their state; a multi-state parent under NL)
    l|<ori>|<component>|<msgkey>|<photo>|<face>  logical queries (only `q.first_of_logical`), flags 0/1
    p|<ori>|<component>|<dest>                 photo requests (image_requested), per destination
    f|<ori>|<component>|<dest>                 face-recognition searches, per destination
    o|<ori>|<component>|<state>|<outcome>      responses by outcome class, joined to their query
    pr|<ori>|<component>|<state>               responses that returned a photo
    al|<detector>|<severity>|<status>          alerts raised (status when raised)
    ak|<detector>|n   ak|<detector>|s          acknowledged alerts: count, and sum of seconds to ack
    s|<metric>                                 month totals for the trend, so a report over 12 months
                                               need not read 12 full months: events (queries +
                                               responses), logical_queries, immigration_requests,
                                               blocked, answered_despite_policy, alerts_raised

`component` is the federal component or `none`; `dest` is a 2-letter code (`NL`, `AX` included) or the
first two letters of a 9-character destination ORI. An unmatched response counts under ori `UNKNOWN`.
No subject keys, operators or other personal data ever enter a key.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from datetime import UTC, datetime

from stream.findings import Alert
from stream.records import ANSWERED_OUTCOMES, IMMIGRATION_COMPONENTS, Query, Response

OUTCOME_CLASSES: tuple[str, ...] = (
    "answered",
    "not_on_file",
    "blocked",
    "answered_despite_policy",
    "other",
)
UNKNOWN_ORI = "UNKNOWN"
NO_COMPONENT = "none"
_ALERT_MEMORY = 100_000  # alert ids remembered to count a re-sent alert once (alerts are rare)

Delta = dict[str, dict[str, int]]


def month_of(ts: float) -> str:
    """Event-time seconds -> 'YYYY-MM' (UTC)."""
    d = datetime.fromtimestamp(ts, UTC)
    return f"{d.year:04d}-{d.month:02d}"


def month_of_iso(text: str) -> str:
    """RFC 3339 UTC text ('2026-10-31T23:59:59.000Z') -> 'YYYY-MM'."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).strftime("%Y-%m")


def outcome_class(outcome: str, leak: bool) -> str:
    """Bounded outcome class. `leak` is the runtime's verdict and wins: it is an answer the policy forbade."""
    if leak:
        return "answered_despite_policy"
    if outcome in ANSWERED_OUTCOMES:
        return "answered"
    if outcome == "NOT_ON_FILE":
        return "not_on_file"
    if outcome == "BLOCKED_BY_POLICY":
        return "blocked"
    return "other"


def _field(value: str | None, default: str) -> str:
    # `|` separates fields; contract values never hold one, but keep keys parseable whatever arrives.
    return (value or default).replace("|", "/")


def _dest(d: str) -> str:
    return d if len(d) == 2 else d[:2]


def is_face_search(q: Query) -> bool:
    return q.message_key == "FRS" or q.search_mode == "face_image" or q.source == "face"


def merge_into(total: Delta, delta: Delta) -> Delta:
    """Add `delta` into `total` in place (for replays that accumulate several drains); returns total."""
    for month, counters in delta.items():
        into = total.setdefault(month, {})
        for key, inc in counters.items():
            into[key] = into.get(key, 0) + inc
    return total


class MonthlyAggregator:
    """Accumulates counter increments per event-time month until `drain()`."""

    def __init__(self) -> None:
        self._pending: defaultdict[str, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._alerts_seen: OrderedDict[str, None] = OrderedDict()
        self._month_cache: dict[int, str] = {}

    def _month(self, ts: float) -> str:
        # Hot path: a month is constant within a UTC day, so cache per day number.
        day = int(ts // 86_400)
        month = self._month_cache.get(day)
        if month is None:
            if len(self._month_cache) > 4096:
                self._month_cache.clear()
            month = self._month_cache[day] = month_of(ts)
        return month

    def on_query(self, q: Query) -> None:
        c = self._pending[self._month(q.ts)]
        ori = _field(q.ori, UNKNOWN_ORI)
        comp = _field(q.agency.component, NO_COMPONENT)
        mk = _field(q.message_key, "UNKNOWN")
        imm = "1" if q.agency.immigration_enforcement else "0"
        c[f"a|{ori}|{_field(q.agency.category, 'unknown')}|{comp}|{imm}"] += 1
        face = is_face_search(q)
        if q.first_of_logical:
            c[f"l|{ori}|{comp}|{mk}|{int(q.image_requested)}|{int(face)}"] += 1
        c["s|events"] += 1
        if q.first_of_logical:
            c["s|logical_queries"] += 1
        immigration = q.agency.immigration_enforcement or q.agency.component in IMMIGRATION_COMPONENTS
        for d in dict.fromkeys(_dest(d) for d in q.destinations):
            c[f"q|{ori}|{comp}|{d}|{mk}"] += 1
            if immigration and d != "NL":
                c["s|immigration_requests"] += 1
            if q.image_requested:
                c[f"p|{ori}|{comp}|{d}"] += 1
            if face:
                c[f"f|{ori}|{comp}|{d}"] += 1

    def on_response(self, r: Response, q: Query | None, leak: bool) -> None:
        c = self._pending[self._month(r.ts)]
        if q is None:
            ori, comp = UNKNOWN_ORI, NO_COMPONENT
        else:
            ori, comp = _field(q.ori, UNKNOWN_ORI), _field(q.agency.component, NO_COMPONENT)
        state = _field(r.responding_state, "??")
        cls = outcome_class(r.outcome, leak)
        c[f"o|{ori}|{comp}|{state}|{cls}"] += 1
        c["s|events"] += 1
        if cls in ("blocked", "answered_despite_policy"):
            c[f"s|{cls}"] += 1
        if r.photo_returned:
            c[f"pr|{ori}|{comp}|{state}"] += 1

    def on_alert(self, alert: Alert) -> None:
        """Count a newly raised alert once (a re-sent alert with the same id is ignored)."""
        if alert.alert_id in self._alerts_seen:
            return
        self._alerts_seen[alert.alert_id] = None
        if len(self._alerts_seen) > _ALERT_MEMORY:
            self._alerts_seen.popitem(last=False)
        month = month_of_iso(alert.window_start)
        self._pending[month][f"al|{_field(alert.detector, 'unknown')}|{alert.severity}|{alert.status}"] += 1
        self._pending[month]["s|alerts_raised"] += 1

    def on_ack(self, alert_id: str, detector: str, month: str, seconds_to_ack: float) -> None:
        """An alert was acknowledged; `month` is the alert's month (of its window start)."""
        del alert_id  # identity is the caller's concern; counted per detector only
        c = self._pending[month]
        det = _field(detector, "unknown")
        c[f"ak|{det}|n"] += 1
        c[f"ak|{det}|s"] += max(0, round(seconds_to_ack))

    def drain(self) -> Delta:
        """Increments since the last drain, then forget them (the caller stages them with its offsets)."""
        out = {m: dict(c) for m, c in self._pending.items() if c}
        self._pending = defaultdict(lambda: defaultdict(int))
        return out

    def pending(self) -> bool:
        return any(self._pending.values())
