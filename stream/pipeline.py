"""The pure core of the monitor: one ordered stream of private records in, findings out.

Per stream (a Kafka partition, or a replayed file): redelivery dedup, multi-state families counted
once, response/query join, event-time watermark with allowed lateness and an explicit late path, and
the detectors. No I/O: the worker and `replay` both drive this class, which is why replaying a month
gives the alerts that watching it live gave. Wall-clock time enters only through `tick()`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from stream.dedup import SeenIds
from stream.detectors import load_all
from stream.detectors.base import Detector, DetectorContext
from stream.findings import Finding
from stream.join import ResponseJoin
from stream.lazy_json import LazyMap
from stream.records import Query, Response

# Detectors that group by something else than the accountable agency get their own keying when scaled
# out: by subject (one subject across agencies), by destination state (blocked in a state, then asked
# by another agency in that state).
# The feed itself (silence of the tap) is watched once, on a uniform sample of all traffic.
SUBJECT_SCOPED = frozenset({"subject_focus"})
STATE_SCOPED = frozenset({"agency_substitution"})
FEED_SCOPED = frozenset({"feed_silence"})
SCOPES: dict[str, frozenset[str]] = {"subject": SUBJECT_SCOPED, "state": STATE_SCOPED, "feed": FEED_SCOPED}
# Per-event rules that stay correct for late events; windowed detectors skip late events.
LATE_SAFE = frozenset({"policy_violation", "policy_leak", "photo_face_match"})


class Observer(Protocol):
    """Side outputs fed with every accepted record (metrics, monthly aggregates)."""

    def on_query(self, q: Query) -> None: ...

    def on_response(self, r: Response, q: Query | None, leak: bool) -> None: ...


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    allowed_lateness_s: float = 300.0
    join_window_s: float = 600.0
    dedup_horizon_s: float = 3600.0
    dedup_capacity: int = 500_000
    tick_s: float = 60.0  # watermark granularity handed to detectors (deterministic points)
    scope: str = "all"  # all | agency | subject | state | feed | none


def build_detectors(policy: Any, scope: str = "all") -> list[Detector]:
    ctx = DetectorContext(policy=policy)
    detectors: list[Detector] = []
    for kind, cls in sorted(load_all().items()):
        if scope == "none":
            continue
        if scope == "agency" and (kind in SUBJECT_SCOPED or kind in STATE_SCOPED or kind in FEED_SCOPED):
            continue
        if scope in SCOPES and kind not in SCOPES[scope]:
            continue
        params = cls.params_model(**policy.detector_params(kind))
        if params.enabled:
            detectors.append(cls(params, ctx))
    return detectors


def is_leak(policy: Any, r: Response, q: Query | None) -> bool:
    """Answered with data although the responding state's policy says the switch must block it."""
    if q is None or not r.answered:
        return False
    rules = policy.state(r.responding_state)
    return bool(rules is not None and rules.blocking_violations(q))


class Pipeline:
    def __init__(
        self,
        detectors: list[Detector],
        policy: Any,
        config: PipelineConfig | None = None,
        observers: Iterable[Observer] = (),
        on_late: Any = None,
        on_duplicate: Any = None,
    ) -> None:
        self.config = c = config or PipelineConfig()
        self.detectors = detectors
        self.policy = policy
        self.observers = list(observers)
        self._on_late = on_late
        self._on_duplicate = on_duplicate
        # Only detectors that override a hook are called for it (the base hooks do nothing).
        self._on_q = [d for d in detectors if type(d).on_query is not Detector.on_query]
        self._on_r = [d for d in detectors if type(d).on_response is not Detector.on_response]
        self._on_q_late = [d for d in self._on_q if d.kind in LATE_SAFE]
        self._on_r_late = [d for d in self._on_r if d.kind in LATE_SAFE]
        self._events = SeenIds(c.dedup_horizon_s, c.dedup_capacity)
        self._families = SeenIds(c.dedup_horizon_s, c.dedup_capacity)
        self._join = ResponseJoin(c.join_window_s)
        self.max_ts = -math.inf
        self.watermark = -math.inf  # last aligned watermark handed to detectors
        self.events_in = 0

    # -- event path ---------------------------------------------------------------------------
    def process(self, event: Query | Response) -> list[Finding]:
        findings: list[Finding] = []
        late = self._admit(event, findings)
        if late is None:
            return findings
        if isinstance(event, Query):
            self._query(event, late, findings)
        else:
            for r, q in self._join.add_response(event):
                self._response(r, q, late, findings)
        return findings

    def process_joined(self, r: Response, q: Query | None) -> list[Finding]:
        """A response already joined upstream (repartitioned mode): skip the local join."""
        findings: list[Finding] = []
        late = self._admit(r, findings)
        if late is not None:
            self._response(r, q, late, findings)
        return findings

    def _admit(self, event: Query | Response, findings: list[Finding]) -> bool | None:
        """Dedup and event time: None for a redelivery, else whether the event is late."""
        if not self._events.first(event.event_id, event.ts):
            if self._on_duplicate:
                self._on_duplicate()
            return None
        self.events_in += 1
        if event.ts > self.max_ts:
            self.max_ts = event.ts
            self._advance(findings)
        late = event.ts < self.watermark
        if late and self._on_late:
            self._on_late("query" if isinstance(event, Query) else "response")
        return late

    def tick(self, idle_event_time: float) -> list[Finding]:
        """Advance event time with no event (the injected wall clock says the feed is idle)."""
        findings: list[Finding] = []
        if idle_event_time > self.max_ts:
            self.max_ts = idle_event_time
            self._advance(findings)
        return findings

    def drain(self) -> list[Finding]:
        """End of an archive: release responses still waiting for a query. Event time does not move:
        the end of a file is not silence on the feed, so windows are not force-closed."""
        findings: list[Finding] = []
        for r, q in self._join.expire(math.inf):
            self._response(r, q, False, findings)
        return findings

    def _query(self, q: Query, late: bool, out: list[Finding]) -> None:
        q.first_of_logical = self._families.first(q.logical_id, q.ts)
        for obs in self.observers:
            obs.on_query(q)
        for det in self._on_q_late if late else self._on_q:
            found = det.on_query(q)
            if found:
                out.extend(found)
        for r, joined in self._join.add_query(q):
            self._response(r, joined, late, out)

    def _response(self, r: Response, q: Query | None, late: bool, out: list[Finding]) -> None:
        leak = is_leak(self.policy, r, q)
        for obs in self.observers:
            obs.on_response(r, q, leak)
        for det in self._on_r_late if late else self._on_r:
            found = det.on_response(r, q)
            if found:
                out.extend(found)

    def _advance(self, out: list[Finding]) -> None:
        tick = self.config.tick_s
        aligned = math.floor((self.max_ts - self.config.allowed_lateness_s) / tick) * tick
        if aligned <= self.watermark:
            return
        self.watermark = aligned
        for r, q in self._join.expire(aligned):
            self._response(r, q, False, out)
        self._events.expire(aligned)
        self._families.expire(aligned)
        for det in self.detectors:
            out.extend(det.on_watermark(aligned))

    # -- checkpoints --------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return self.lazy_snapshot().resolve()

    def lazy_snapshot(self) -> LazyMap:
        """The snapshot as parts built on demand: the checkpoint encodes one part at a time."""
        return LazyMap(
            max_ts=None if self.max_ts == -math.inf else self.max_ts,
            watermark=None if self.watermark == -math.inf else self.watermark,
            events=self._events.snapshot,
            families=self._families.snapshot,
            join=self._join.snapshot,
            detectors=LazyMap({d.kind: d.snapshot for d in self.detectors}),
        )

    def restore(self, state: dict[str, Any]) -> None:
        self.max_ts = -math.inf if state.get("max_ts") is None else state["max_ts"]
        self.watermark = -math.inf if state.get("watermark") is None else state["watermark"]
        self._events.restore(state.get("events", []))
        self._families.restore(state.get("families", []))
        self._join.restore(state.get("join", {}))
        saved = state.get("detectors", {})
        for det in self.detectors:
            if det.kind in saved:
                det.restore(saved[det.kind])

    def state_sizes(self) -> dict[str, int]:
        sizes = {d.kind: d.state_size() for d in self.detectors}
        sizes["_dedup"] = len(self._events) + len(self._families)
        sizes["_join"] = len(self._join)
        return sizes
