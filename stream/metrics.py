"""Prometheus metrics of the monitor: one `Metrics` bundle against an injected `CollectorRegistry`.

Conventions (design principle 7): prefix `dmvwatch_`, base units (seconds), counters end in `_total`,
help text on every metric, every label value created at zero at start-up (vocabularies in
`stream.metrics_labels`), and no ORI, operator, subject or plate label. The series count is therefore
fixed (about 1,400 per worker plus two per assigned partition) whatever the traffic.

The per-event counters (`on_query`, `on_response`, 50k events/s) are plain dict increments read by a
custom collector at scrape time, which costs a fraction of a locked `.labels(...).inc()`:

    m = Metrics(CollectorRegistry(), worker_id="0")
    m.on_query(q)                      # hot path
    m.dead_letter("invalid_json")      # rare paths use ordinary prometheus_client metrics
    m.serve("127.0.0.1", 9464)
"""

from __future__ import annotations

from collections.abc import Callable

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

from stream import __version__
from stream import metrics_labels as L
from stream.contract import MESSAGE_KEYS, SOURCES
from stream.metrics_collectors import CounterSpec, HistogramTable, OpenAlertsCollector, TableCollector
from stream.records import Agency, Query, Response

LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
FAST_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
ALERT_BUCKETS = (0.1, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
BATCH_SIZE_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000)
_AgencyKeys = tuple[tuple[str], tuple[str], tuple[str], str | None]  # class, category, component, immigration
MAX_PARTITIONS = 256  # per worker; beyond this, partitions are not exported (bounded cardinality)


_DEST = "a multi-state parent counts under NL, each child under its own state"


def _spec(name: str, doc: str, **vocab: tuple[str, ...]) -> CounterSpec:
    """A hot-path counter whose label names and values are given as `label=vocabulary`."""
    return CounterSpec(name, doc, tuple(vocab), L.product(*vocab.values()))


COUNTERS: tuple[CounterSpec, ...] = (
    _spec("dmvwatch_queries", "Logical queries (a multi-state family counts once), by source and "
          "message key.", source=SOURCES, message_key=MESSAGE_KEYS),
    _spec("dmvwatch_queries_by_category", "Logical queries by requesting agency category.",
          category=L.CATEGORY_LABELS),
    _spec("dmvwatch_queries_by_component", "Logical queries by federal component ('none': not federal).",
          component=L.COMPONENTS),
    _spec("dmvwatch_queries_by_destination", f"Query messages by destination ({_DEST}).",
          destination=L.DESTINATIONS),
    _spec("dmvwatch_multistate_child_queries", "Per-state child messages of multi-state queries."),
    _spec("dmvwatch_immigration_queries", "Logical queries by immigration-enforcement requesters, by "
          "component and message key.", component=L.IMMIGRATION_LABELS, message_key=MESSAGE_KEYS),
    _spec("dmvwatch_immigration_queries_by_destination", "Query messages by immigration-enforcement "
          f"requesters, by component and destination ({_DEST}).", component=L.IMMIGRATION_LABELS,
          destination=L.DESTINATIONS),
    _spec("dmvwatch_photo_requests", "Logical queries asking for a photo (IMQ/Y or CPQ), by requester class.",
          requester_class=L.REQUESTER_CLASSES),
    _spec("dmvwatch_photo_requests_by_destination", f"Photo-request messages by destination ({_DEST}).",
          destination=L.DESTINATIONS),
    _spec("dmvwatch_face_searches", "Logical face-recognition searches, by requester class.",
          requester_class=L.REQUESTER_CLASSES),
    _spec("dmvwatch_face_searches_by_destination", f"Face-search messages by destination ({_DEST}).",
          destination=L.DESTINATIONS),
    _spec("dmvwatch_responses", "Responses by responding state and result (answered; leak = answered "
          "although the state's policy blocks it; blocked; unanswered).", state=L.RESPONDING_STATES,
          result=L.RESULTS),
    _spec("dmvwatch_responses_by_requester", "Responses by requester class of the joined query ('unjoined' "
          "when unseen) and result.", requester_class=L.RESPONSE_CLASSES, result=L.RESULTS),
    _spec("dmvwatch_policy_rule_hits", "Responses on which the switch applied a state policy rule, by "
          "responding state.", state=L.RESPONDING_STATES),
    _spec("dmvwatch_face_candidates", "Face-match candidates returned, by requester class.",
          requester_class=L.RESPONSE_CLASSES),
    _spec("dmvwatch_unmapped_events", "Events whose source or message key is outside the contract (not "
          "counted elsewhere)."),
)  # fmt: skip


class Metrics:
    """Every metric the monitor exports. The runtime owns one per worker process."""

    def __init__(self, registry: CollectorRegistry | None = None, worker_id: str = "0") -> None:
        # `_created` samples would double the series count and no dashboard reads them.
        prometheus_client.disable_created_metrics()
        self.registry = r = registry if registry is not None else CollectorRegistry()
        latency = HistogramTable("dmvwatch_response_latency_seconds", "Query-to-response latency: the "
                                 "switch's latency_ms when given, else response minus query event time.",
                                 LATENCY_BUCKETS)  # fmt: skip
        self._tables = TableCollector(COUNTERS, latency)
        r.register(self._tables)
        t = self._tables.by_name
        self._queries = t["dmvwatch_queries"].values
        self._by_category = t["dmvwatch_queries_by_category"].values
        self._by_component = t["dmvwatch_queries_by_component"].values
        self._by_destination = t["dmvwatch_queries_by_destination"].values
        self._children = t["dmvwatch_multistate_child_queries"].values
        self._immigration = t["dmvwatch_immigration_queries"].values
        self._immigration_dest = t["dmvwatch_immigration_queries_by_destination"].values
        self._photo = t["dmvwatch_photo_requests"].values
        self._photo_dest = t["dmvwatch_photo_requests_by_destination"].values
        self._face = t["dmvwatch_face_searches"].values
        self._face_dest = t["dmvwatch_face_searches_by_destination"].values
        self._responses = t["dmvwatch_responses"].values
        self._responses_by_class = t["dmvwatch_responses_by_requester"].values
        self._rule_hits = t["dmvwatch_policy_rule_hits"].values
        self._candidates = t["dmvwatch_face_candidates"].values
        self._unmapped = t["dmvwatch_unmapped_events"].values
        # Label keys per agency kind and per destination list, computed once (hot path).
        self._agency_labels: dict[tuple[str, str | None, bool], _AgencyKeys] = {}
        self._destinations: dict[tuple[str, ...], tuple[tuple[str], ...]] = {}
        self._latency = self._tables.latency
        self._build_pipeline_metrics(r)
        self._build_health_metrics(r)
        info = Gauge("dmvwatch_build_info", "Version of the running worker (always 1).",
                     ["version", "worker"], registry=r)  # fmt: skip
        info.labels(__version__, worker_id).set(1)
        ProcessCollector(registry=r)

    # -- hot path ------------------------------------------------------------------------------
    def on_query(self, q: Query) -> None:
        """Count one accepted (deduplicated) query event."""
        key = (q.source, q.message_key)
        if key not in self._queries:  # outside the contract's enums: count, never crash
            self._unmapped[()] += 1
            return
        a = q.agency
        labels = self._agency_labels.get((a.category, a.component, a.immigration_enforcement))
        cls, category, component, imm = labels or self._learn_agency(a)
        photo = q.image_requested or q.message_key == "CPQ"
        face = q.source == "face" or q.message_key == "FRS"
        if q.first_of_logical:
            self._queries[key] += 1
            self._by_category[category] += 1
            self._by_component[component] += 1
            if imm is not None:
                self._immigration[(imm, q.message_key)] += 1
            if photo:
                self._photo[cls] += 1
            if face:
                self._face[cls] += 1
        if q.parent_query_id is not None:
            self._children[()] += 1
        for d in self._destinations.get(q.destinations) or self._learn_destinations(q):
            self._by_destination[d] += 1
            if imm is not None:
                self._immigration_dest[(imm, d[0])] += 1
            if photo:
                self._photo_dest[d] += 1
            if face:
                self._face_dest[d] += 1

    def _learn_agency(self, a: Agency) -> _AgencyKeys:
        if len(self._agency_labels) > 4096:  # bounded even if agencies carry arbitrary components
            self._agency_labels.clear()
        keys = ((L.requester_class(a),), (L.bounded(a.category, L.CATEGORY_LABELS, "unknown"),),
                (L.component(a),), L.immigration_label(a))  # fmt: skip
        self._agency_labels[(a.category, a.component, a.immigration_enforcement)] = keys
        return keys

    def _learn_destinations(self, q: Query) -> tuple[tuple[str], ...]:
        if len(self._destinations) > 4096:
            self._destinations.clear()
        keys = self._destinations[q.destinations] = tuple((d,) for d in L.destinations(q))
        return keys

    def on_response(self, r: Response, q: Query | None, leak: bool) -> None:
        """Count one accepted response; `q` is its joined query (None if unseen), `leak` from policy."""
        state = L.responding_state(r.responding_state)
        cls = "unjoined"
        if q is not None:
            a = q.agency
            labels = self._agency_labels.get((a.category, a.component, a.immigration_enforcement))
            cls = (labels or self._learn_agency(a))[0][0]
        res = L.result(r, leak)
        self._responses[(state, res)] += 1
        self._responses_by_class[(cls, res)] += 1
        if r.policy_rule_id:
            self._rule_hits[(state,)] += 1
        if r.face_candidates:
            self._candidates[(cls,)] += r.face_candidates
        if r.latency_ms is not None:
            self._latency.observe(r.latency_ms / 1000.0)
        elif q is not None and r.ts >= q.ts:
            self._latency.observe(r.ts - q.ts)

    # -- pipeline events -------------------------------------------------------------------------
    def _build_pipeline_metrics(self, r: CollectorRegistry) -> None:
        dlq = Counter("dmvwatch_dead_letters_total", "Messages sent to the dead-letter topic, by reason.",
                      ["reason"], registry=r)  # fmt: skip
        self._dlq = {v: dlq.labels(v) for v in L.DLQ_LABELS}
        self._dup = Counter("dmvwatch_duplicates_total", "Redelivered events dropped by event_id dedup.",
                            registry=r)  # fmt: skip
        late = Counter("dmvwatch_late_events_total", "Events older than the watermark (taken the late "
                       "path), by kind.", ["kind"], registry=r)  # fmt: skip
        self._late = {v: late.labels(v) for v in L.LATE_KINDS}
        alerts = Counter("dmvwatch_alerts_total", "Alerts raised, by detector and severity.",
                         ["detector", "severity"], registry=r)  # fmt: skip
        self._alerts = {k: alerts.labels(*k) for k in L.product(L.DETECTOR_LABELS, L.SEVERITIES)}
        self._stages_c = Counter("dmvwatch_alert_stage_decisions_total", "Decisions of the alert stages "
                                 "(dedup, silence, inhibit, group), by detector, stage and decision.",
                                 ["detector", "stage", "decision"], registry=r)  # fmt: skip
        self._stages = {
            (det, stage, decision): self._stages_c.labels(det, stage, decision)
            for det in L.DETECTOR_LABELS
            for stage, decision in L.STAGE_DECISIONS
        }

    def dead_letter(self, reason: str) -> None:
        self._dlq[L.bounded(reason, L.DLQ_LABELS)].inc()

    def duplicate(self) -> None:
        self._dup.inc()

    def late_event(self, kind: str) -> None:
        self._late[L.bounded(kind, L.LATE_KINDS, "query")].inc()

    def alert(self, detector: str, severity: str) -> None:
        key = (L.bounded(detector, L.DETECTOR_LABELS), L.bounded(severity, L.SEVERITIES, "info"))
        self._alerts[key].inc()

    def stage_decision(self, detector: str, stage: str, decision: str) -> None:
        key = (L.bounded(detector, L.DETECTOR_LABELS), stage, decision)
        child = self._stages.get(key)
        if child is None:  # an unforeseen stage or decision: admitted up to a small cap
            if len(self._stages) >= L.MAX_STAGE_SERIES:
                key = (key[0], "other", "other")
            child = self._stages.get(key) or self._stages.setdefault(key, self._stages_c.labels(*key))
        child.inc()

    # -- throughput, latency, health ---------------------------------------------------------------
    def _build_health_metrics(self, r: CollectorRegistry) -> None:
        self._events = Counter("dmvwatch_events_processed_total", "Messages consumed and processed.",
                               registry=r)  # fmt: skip
        self._batch_s = _histogram(r, "dmvwatch_batch_duration_seconds", "Wall time to process one batch.",
                                   FAST_BUCKETS)  # fmt: skip
        self._batch_n = _histogram(r, "dmvwatch_batch_size_messages", "Messages per processed batch.",
                                   BATCH_SIZE_BUCKETS)  # fmt: skip
        self._e2a = _histogram(r, "dmvwatch_event_to_alert_seconds", "Wall time from consuming the event "
                               "that completed a finding to writing its alert.", ALERT_BUCKETS)  # fmt: skip
        self._ckpt = _histogram(r, "dmvwatch_checkpoint_duration_seconds", "Wall time of one checkpoint "
                                "(state snapshot and offset commit).", FAST_BUCKETS)  # fmt: skip
        self._redis_w = _histogram(r, "dmvwatch_redis_write_duration_seconds", "Wall time of one Redis "
                                   "alert-store write.", FAST_BUCKETS)  # fmt: skip
        part = ["topic", "partition"]
        self._lag_g = Gauge("dmvwatch_consumer_lag_messages", "Consumer lag (high watermark minus "
                            "position) per assigned partition.", part, registry=r)  # fmt: skip
        self._progress_g = Gauge("dmvwatch_partition_last_progress_timestamp_seconds", "Wall time (epoch "
                                 "seconds) a partition last made progress.", part, registry=r)  # fmt: skip
        self._partitions: dict[tuple[str, int], tuple[Gauge, Gauge]] = {}
        state = Gauge("dmvwatch_detector_state_keys", "Live keys held by each detector.", ["detector"],
                      registry=r)  # fmt: skip
        self._state = {v: state.labels(v) for v in L.DETECTOR_LABELS}
        self._redis_up = Gauge("dmvwatch_redis_up", "1 when the last Redis operation succeeded, else 0.",
                               registry=r)  # fmt: skip
        self._watermark = Gauge("dmvwatch_watermark_timestamp_seconds", "Event-time watermark (epoch "
                                "seconds); 0 before the first event.", registry=r)  # fmt: skip

    def observe_batch(self, seconds: float, size: int) -> None:
        self._batch_s.observe(seconds)
        self._batch_n.observe(size)
        self._events.inc(size)

    def observe_event_to_alert(self, seconds: float) -> None:
        self._e2a.observe(seconds)

    def observe_checkpoint(self, seconds: float) -> None:
        self._ckpt.observe(seconds)

    def observe_redis_write(self, seconds: float) -> None:
        self._redis_w.observe(seconds)

    def set_partition(self, topic: str, partition: int, lag: int, last_progress_ts: float) -> None:
        children = self._partitions.get((topic, partition))
        if children is None:
            if len(self._partitions) >= MAX_PARTITIONS:
                return
            labels = (topic, str(partition))
            children = self._partitions[(topic, partition)] = (
                self._lag_g.labels(*labels),
                self._progress_g.labels(*labels),
            )
        children[0].set(max(lag, 0))
        children[1].set(last_progress_ts)

    def drop_partition(self, topic: str, partition: int) -> None:
        """Forget a revoked or lost partition, so its frozen lag cannot look like a stall here."""
        if self._partitions.pop((topic, partition), None) is not None:
            self._lag_g.remove(topic, str(partition))
            self._progress_g.remove(topic, str(partition))

    def set_state_size(self, detector: str, n: int) -> None:
        self._state[L.bounded(detector, L.DETECTOR_LABELS)].set(n)

    def set_redis_up(self, up: bool) -> None:
        self._redis_up.set(1 if up else 0)

    def set_watermark(self, seconds: float) -> None:
        self._watermark.set(seconds)

    def watch_open_alerts(self, open_count: Callable[[str, str], int]) -> None:
        """Export `dmvwatch_open_alerts{severity}`, read at scrape time from the alert store.

        `open_count(field, value)` is `AlertStore.open_count`. While the store is unreachable the
        series are absent (a gap, not a false zero); `dmvwatch_redis_up` says why.
        """
        self.registry.register(OpenAlertsCollector(open_count, L.SEVERITIES))

    def serve(self, host: str, port: int) -> None:
        """Start the HTTP exporter (a daemon thread) for this registry only."""
        prometheus_client.start_http_server(port, addr=host, registry=self.registry)

    def series_count(self) -> int:
        return sum(len(m.samples) for m in self.registry.collect())


def _histogram(r: CollectorRegistry, name: str, doc: str, buckets: tuple[float, ...]) -> Histogram:
    return Histogram(name, doc, buckets=buckets, registry=r)
