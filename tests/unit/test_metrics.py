"""Metrics: zero-initialised bounded series, counts that move with synthetic records, no forbidden labels."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from stream import metrics_labels as L
from stream.contract import MESSAGE_KEYS, SOURCES
from stream.decode import DLQ_REASONS
from stream.findings import DETECTORS, SEVERITIES
from stream.metrics import Metrics
from tests.unit.factories import ice_agency, make_agency, make_query, make_response

FORBIDDEN_LABELS = {"ori", "operator", "operator_id", "subject", "subject_key", "plate", "name"}


@pytest.fixture
def m() -> Metrics:
    return Metrics(CollectorRegistry(), worker_id="w1")


def value(m: Metrics, name: str, **labels: str) -> float:
    v = m.registry.get_sample_value(name, labels)
    assert v is not None, f"no series {name}{labels}"
    return v


def samples(m: Metrics) -> list[tuple[str, dict[str, str]]]:
    return [(s.name, s.labels) for fam in m.registry.collect() for s in fam.samples]


def test_every_known_label_value_exists_at_zero_at_startup(m: Metrics) -> None:
    for src in SOURCES:
        for key in MESSAGE_KEYS:
            assert value(m, "dmvwatch_queries_total", source=src, message_key=key) == 0
    for state in L.RESPONDING_STATES:
        for res in L.RESULTS:
            assert value(m, "dmvwatch_responses_total", state=state, result=res) == 0
    for dest in L.DESTINATIONS:
        assert value(m, "dmvwatch_queries_by_destination_total", destination=dest) == 0
    for comp in L.IMMIGRATION_LABELS:
        assert (
            value(m, "dmvwatch_immigration_queries_by_destination_total", component=comp, destination="NY")
            == 0
        )
    for reason in DLQ_REASONS:
        assert value(m, "dmvwatch_dead_letters_total", reason=reason) == 0
    for det in DETECTORS:
        assert value(m, "dmvwatch_detector_state_keys", detector=det) == 0
        for sev in SEVERITIES:
            assert value(m, "dmvwatch_alerts_total", detector=det, severity=sev) == 0
    for kind in ("query", "response"):
        assert value(m, "dmvwatch_late_events_total", kind=kind) == 0
    assert value(m, "dmvwatch_response_latency_seconds_count") == 0
    assert value(m, "dmvwatch_build_info", version=m_version(), worker="w1") == 1


def m_version() -> str:
    from stream import __version__

    return __version__


def test_logical_query_counted_once_children_separately(m: Metrics) -> None:
    parent = make_query(event_id="p1", destinations=("NL",), message_key="DQ")
    kids = [
        make_query(event_id=f"c{i}", parent_query_id="p1", destinations=(s,), message_key="DQ",
                   first_of_logical=False)
        for i, s in enumerate(("NY", "CA", "TX"))
    ]  # fmt: skip
    for q in (parent, *kids):
        m.on_query(q)
    assert value(m, "dmvwatch_queries_total", source="nlets", message_key="DQ") == 1
    assert value(m, "dmvwatch_multistate_child_queries_total") == 3
    assert value(m, "dmvwatch_queries_by_destination_total", destination="NL") == 1
    assert value(m, "dmvwatch_queries_by_destination_total", destination="NY") == 1
    assert value(m, "dmvwatch_queries_by_category_total", category="PD") == 1
    assert value(m, "dmvwatch_queries_by_component_total", component="none") == 1


def test_immigration_and_photo_queries_by_component_class_and_destination(m: Metrics) -> None:
    ice = ice_agency(ori="XXSYN0001")
    m.on_query(make_query(agency=ice, destinations=("WA", "OR"), image_requested=True, message_key="DQ"))
    m.on_query(make_query(agency=ice, destinations=("GAXXX0001",), message_key="LQ"))  # 9-char ORI
    sheriff = make_agency(ori="TX1230000", category="SO", immigration_enforcement=True)
    m.on_query(make_query(agency=sheriff, destinations=("AX",), message_key="IAQ"))
    assert value(m, "dmvwatch_immigration_queries_total", component="ICE-ERO", message_key="DQ") == 1
    assert value(m, "dmvwatch_immigration_queries_total", component="other_flagged", message_key="IAQ") == 1
    dest = "dmvwatch_immigration_queries_by_destination_total"
    assert value(m, dest, component="ICE-ERO", destination="WA") == 1
    assert value(m, dest, component="ICE-ERO", destination="OR") == 1
    assert value(m, dest, component="ICE-ERO", destination="other") == 1
    assert value(m, dest, component="other_flagged", destination="AX") == 1
    assert value(m, "dmvwatch_queries_by_component_total", component="ICE-ERO") == 2
    assert value(m, "dmvwatch_photo_requests_total", requester_class="ICE-ERO") == 1
    assert value(m, "dmvwatch_photo_requests_by_destination_total", destination="OR") == 1
    assert value(m, "dmvwatch_photo_requests_total", requester_class="PD") == 0


def test_face_search_and_candidates(m: Metrics) -> None:
    q = make_query(source="face", message_key="FRS", search_mode="face_image", agency=ice_agency())
    m.on_query(q)
    m.on_response(make_response(q, face_candidates=7), q, leak=False)
    m.on_response(make_response(None, face_candidates=2, responding_state="ZZ"), None, leak=False)
    assert value(m, "dmvwatch_face_searches_total", requester_class="ICE-ERO") == 1
    assert value(m, "dmvwatch_face_searches_by_destination_total", destination="WA") == 1
    assert value(m, "dmvwatch_face_candidates_total", requester_class="ICE-ERO") == 7
    assert value(m, "dmvwatch_face_candidates_total", requester_class="unjoined") == 2
    assert value(m, "dmvwatch_responses_total", state="other", result="answered") == 1


def test_response_results_by_state_and_requester(m: Metrics) -> None:
    q = make_query(agency=ice_agency(), destinations=("WA",))
    m.on_response(make_response(q), q, leak=False)
    m.on_response(make_response(q, policy_rule_id="WA-1"), q, leak=True)
    m.on_response(make_response(q, outcome="BLOCKED_BY_POLICY", policy_rule_id="WA-1"), q, leak=False)
    m.on_response(make_response(q, outcome="NOT_ON_FILE"), q, leak=False)
    for res in ("answered", "leak", "blocked", "unanswered"):
        assert value(m, "dmvwatch_responses_total", state="WA", result=res) == 1
        assert value(m, "dmvwatch_responses_by_requester_total", requester_class="ICE-ERO", result=res) == 1
    assert value(m, "dmvwatch_policy_rule_hits_total", state="WA") == 2
    assert value(m, "dmvwatch_response_latency_seconds_count") == 4  # 1 s from event times


def test_latency_prefers_switch_latency(m: Metrics) -> None:
    q = make_query()
    m.on_response(make_response(q, latency_ms=2000), q, leak=False)
    assert value(m, "dmvwatch_response_latency_seconds_sum") == 2.0
    assert value(m, "dmvwatch_response_latency_seconds_bucket", le="2.5") == 1
    assert value(m, "dmvwatch_response_latency_seconds_bucket", le="1.0") == 0


def test_unknown_values_fold_into_bounded_catch_alls(m: Metrics) -> None:
    before = m.series_count()
    m.on_query(make_query(source="carrier-pigeon"))
    m.dead_letter("cosmic_ray")
    m.alert("not_a_detector", "apocalyptic")
    m.late_event("weird")
    for i in range(300):
        m.stage_decision("bulk_sweep", f"stage{i}", "drop")
    assert value(m, "dmvwatch_unmapped_events_total") == 1
    assert value(m, "dmvwatch_dead_letters_total", reason="other") == 1
    assert value(m, "dmvwatch_alerts_total", detector="other", severity="info") == 1
    assert value(m, "dmvwatch_alert_stage_decisions_total", detector="bulk_sweep", stage="other",
                 decision="other") > 0  # fmt: skip
    assert m.series_count() - before <= L.MAX_STAGE_SERIES


def test_pipeline_health_metrics(m: Metrics) -> None:
    m.duplicate()
    m.late_event("response")
    m.alert("policy_leak", "critical")
    m.stage_decision("policy_leak", "dedup", "deduplicated")
    m.observe_batch(0.02, 500)
    m.observe_event_to_alert(3.0)
    m.observe_checkpoint(0.01)
    m.observe_redis_write(0.002)
    m.set_partition("dmvq.events", 3, 120, 1_800_000_000.0)
    m.set_state_size("bulk_sweep", 42)
    m.set_redis_up(True)
    m.set_watermark(1_800_000_000.0)
    assert value(m, "dmvwatch_duplicates_total") == 1
    assert value(m, "dmvwatch_late_events_total", kind="response") == 1
    assert value(m, "dmvwatch_alerts_total", detector="policy_leak", severity="critical") == 1
    assert value(m, "dmvwatch_alert_stage_decisions_total", detector="policy_leak", stage="dedup",
                 decision="deduplicated") == 1  # fmt: skip
    assert value(m, "dmvwatch_events_processed_total") == 500
    assert value(m, "dmvwatch_batch_size_messages_sum") == 500
    assert value(m, "dmvwatch_event_to_alert_seconds_count") == 1
    assert value(m, "dmvwatch_checkpoint_duration_seconds_count") == 1
    assert value(m, "dmvwatch_redis_write_duration_seconds_count") == 1
    assert value(m, "dmvwatch_consumer_lag_messages", topic="dmvq.events", partition="3") == 120
    assert value(m, "dmvwatch_partition_last_progress_timestamp_seconds", topic="dmvq.events",
                 partition="3") == 1_800_000_000.0  # fmt: skip
    assert value(m, "dmvwatch_detector_state_keys", detector="bulk_sweep") == 42
    assert value(m, "dmvwatch_redis_up") == 1
    assert value(m, "dmvwatch_watermark_timestamp_seconds") == 1_800_000_000.0


def test_no_forbidden_labels_and_no_ori_in_label_values(m: Metrics) -> None:
    oris = ("XXSYN0001", "WA0340000", "NYNYPD000", "GAXXX0001")
    for ori in oris:
        agency = make_agency(ori=ori, category="FE", component="ICE-ERO")
        q = make_query(agency=agency, destinations=(ori[:2], "GAXXX0001"), operator_id="op-7",
                       image_requested=True)  # fmt: skip
        m.on_query(q)
        m.on_response(make_response(q, face_candidates=1), q, leak=True)
    for name, labels in samples(m):
        assert not FORBIDDEN_LABELS & set(labels), name
        for v in labels.values():
            assert all(ori not in v for ori in oris), (name, labels)
            assert "op-7" not in v and "h:subject" not in v


def test_series_count_is_fixed_by_vocabularies(m: Metrics) -> None:
    before = m.series_count()
    for i, dest in enumerate((*L.STATES, "NL", "AX", "ZZ", "ABCDEFGHI")):
        q = make_query(event_id=f"q{i}", destinations=(dest,), image_requested=True, agency=ice_agency())
        m.on_query(q)
        m.on_response(make_response(q, responding_state=dest[:2], face_candidates=1), q, leak=i % 2 == 0)
    assert m.series_count() == before
    assert before <= 2000


def test_stage_decisions_match_the_alert_stages(m: Metrics) -> None:
    from stream.alerting.stages import REASONS, STAGES

    assert {s for s, _ in L.STAGE_DECISIONS} == set(STAGES)
    assert {d for _, d in L.STAGE_DECISIONS} == set(REASONS)
    for stage, decision in L.STAGE_DECISIONS:
        assert value(m, "dmvwatch_alert_stage_decisions_total", detector="policy_leak", stage=stage,
                     decision=decision) == 0  # fmt: skip


def test_latency_histogram_matches_prometheus_client_histogram(m: Metrics) -> None:
    from prometheus_client import Histogram

    from stream.metrics import LATENCY_BUCKETS

    ref_registry = CollectorRegistry()
    ref = Histogram(
        "dmvwatch_response_latency_seconds", "ref", buckets=LATENCY_BUCKETS, registry=ref_registry
    )
    q = make_query()
    for ms in (0, 100, 999, 1000, 1001, 60_000, 10_000_000):  # bounds, between, beyond the last
        m.on_response(make_response(q, latency_ms=ms), q, leak=False)
        ref.observe(ms / 1000.0)
    ours = {(s.name, s.labels.get("le")): s.value for fam in m.registry.collect() for s in fam.samples
            if fam.name == "dmvwatch_response_latency_seconds"}  # fmt: skip
    theirs = {(s.name, s.labels.get("le")): s.value for fam in ref_registry.collect() for s in fam.samples}
    assert ours == theirs


def test_revoked_partition_is_dropped(m: Metrics) -> None:
    m.set_partition("t", 1, 10, 5.0)
    m.set_partition("t", 2, 10, 5.0)
    m.drop_partition("t", 1)
    m.drop_partition("t", 9)  # never assigned: no error
    assert (
        m.registry.get_sample_value("dmvwatch_consumer_lag_messages", {"topic": "t", "partition": "1"})
        is None
    )
    assert value(m, "dmvwatch_consumer_lag_messages", topic="t", partition="2") == 10
    m.set_partition("t", 1, 3, 6.0)  # assigned again later
    assert value(m, "dmvwatch_partition_last_progress_timestamp_seconds", topic="t", partition="1") == 6.0


def test_open_alerts_read_at_scrape_time(m: Metrics) -> None:
    store = {"critical": 2, "high": 0}
    calls: list[tuple[str, str]] = []

    def open_count(field: str, value: str) -> int:
        calls.append((field, value))
        return store.get(value, 0)

    m.watch_open_alerts(open_count)
    assert value(m, "dmvwatch_open_alerts", severity="critical") == 2
    store["critical"] = 1  # resolved in Redis: the next scrape sees it
    assert value(m, "dmvwatch_open_alerts", severity="critical") == 1
    assert value(m, "dmvwatch_open_alerts", severity="info") == 0
    assert {f for f, _ in calls} == {"severity"}


def test_open_alerts_absent_while_store_is_down(m: Metrics) -> None:
    def down(field: str, value: str) -> int:
        raise ConnectionError("redis down")

    m.watch_open_alerts(down)
    assert m.registry.get_sample_value("dmvwatch_open_alerts", {"severity": "critical"}) is None
    assert value(m, "dmvwatch_queries_total", source="nlets", message_key="RQ") == 0  # scrape still works
