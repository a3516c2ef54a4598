"""The rule-based detectors inside the real pipeline: join in either order, multi-state children,
late events, and the same alerts whatever the arrival order (real policy pack, no I/O)."""

from __future__ import annotations

from stream.detectors.blocked_retry import BlockedRetry
from stream.detectors.policy_leak import PolicyLeak
from stream.detectors.policy_violation import PolicyViolation
from stream.pipeline import Pipeline, PipelineConfig
from tests.unit.detector_steps import build, real_policy, signature
from tests.unit.factories import T0, ice_agency, make_query, make_response

M = 60.0
ICE = ice_agency("XXSYN0001")


def run(events: list) -> list:  # type: ignore[type-arg]
    dets = [build(PolicyViolation), build(PolicyLeak), build(BlockedRetry)]
    pipe = Pipeline(dets, real_policy(), PipelineConfig(allowed_lateness_s=300, tick_s=60))
    out = [f for e in events for f in pipe.process(e)]
    return out + pipe.tick(T0 + 3 * 3600)


# T0 ........ +10m ........ +20m ............ +60m (+5m lateness) -> windows close
#  r1 (HIT from WA) arrives before its query q1 (ICE -> WA): joined, then a leak
#  parent p (ICE -> NL) + children p-WA, p-NY; p-NY answered HIT from NY (a leak of the NY rule)
#  6 ICE queries to IL, all BLOCKED_BY_POLICY: blocked_retry + IL violations
Q1 = make_query(event_id="q1", ts=T0 + 10 * M, agency=ICE)
R1 = make_response(Q1, event_id="r1")
P = make_query(event_id="p", ts=T0 + 20 * M, agency=ICE, destinations=("NL",))
PWA = make_query(event_id="p-wa", ts=T0 + 20 * M, agency=ICE, destinations=("WA",), parent_query_id="p")
PNY = make_query(event_id="p-ny", ts=T0 + 20 * M, agency=ICE, destinations=("NY",), parent_query_id="p")
RNY = make_response(PNY, event_id="r-ny")
IL_Q = [
    make_query(event_id=f"il{i}", ts=T0 + (30 + i) * M, agency=ICE, destinations=("IL",)) for i in range(6)
]
IL_R = [make_response(q, event_id=f"il-r{i}", outcome="BLOCKED_BY_POLICY") for i, q in enumerate(IL_Q)]
EVENTS = [R1, Q1, P, PWA, PNY, RNY, *IL_Q, *IL_R]


def test_alerts_through_the_pipeline() -> None:
    found = run(EVENTS)
    kinds = sorted((f.detector, f.group_key) for f in found)
    assert kinds == [
        ("blocked_retry", "XXSYN0001"),
        ("policy_leak", "XXSYN0001|NY|NY-VTL201-12-JUDICIAL"),
        ("policy_leak", "XXSYN0001|WA|WA-ACCESS-ICE-BLOCK"),
        ("policy_violation", "XXSYN0001|IL|IL-NLETS-ICE-BLOCK"),
        ("policy_violation", "XXSYN0001|IL|IL-VC-HRPI-PREDICATE"),
        ("policy_violation", "XXSYN0001|NY|NY-VTL201-12-JUDICIAL"),
        ("policy_violation", "XXSYN0001|WA|WA-ACCESS-ICE-BLOCK"),
        ("policy_violation", "XXSYN0001|WA|WA-RCW43.17.425-COURT-ORDER"),
    ]
    by_key = {(f.detector, f.group_key): f for f in found}
    assert by_key[("policy_leak", "XXSYN0001|WA|WA-ACCESS-ICE-BLOCK")].evidence["sample_query_ids"] == ["q1"]
    # violations and leaks page at their first event (fire_early): evidence as of that event
    assert by_key[("policy_violation", "XXSYN0001|WA|WA-ACCESS-ICE-BLOCK")].evidence["count"] == 1
    assert by_key[("blocked_retry", "XXSYN0001")].evidence["count"] == 6


def test_same_alerts_in_reverse_arrival_order() -> None:
    # Alert identity never depends on arrival order; the evidence of an early (paging) finding is
    # "as of the first event", so only window-close findings are compared in full.
    forward, backward = run(EVENTS), run(EVENTS[::-1])
    assert sorted(f.alert_id("t") for f in backward) == sorted(f.alert_id("t") for f in forward)
    closed = [f for f in forward if f.detector == "blocked_retry"]
    assert signature(closed) == signature([f for f in backward if f.detector == "blocked_retry"])


def test_violations_and_leaks_page_at_their_first_event() -> None:
    # q1 (ICE -> WA) then its HIT: the violation fires on q1 itself, the leak on r1 itself
    dets = [build(PolicyViolation), build(PolicyLeak)]
    pipe = Pipeline(dets, real_policy(), PipelineConfig(allowed_lateness_s=300, tick_s=60))
    on_query = pipe.process(Q1)
    assert {f.detector for f in on_query} == {"policy_violation"}
    on_answer = pipe.process(R1)
    assert [f.detector for f in on_answer] == ["policy_leak"]
    assert on_answer[0].severity == "critical" and on_answer[0].evidence["count"] == 1
    assert pipe.tick(T0 + 3 * 3600) == []  # nothing fires a second time when the window closes
