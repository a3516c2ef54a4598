"""policy_leak: answered queries that the responding state's switch must block (critical)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from stream.detectors.policy_leak import PolicyLeak
from stream.findings import iso
from tests.unit.detector_steps import build, drive, drive_with_restart, flat, real_policy, signature
from tests.unit.factories import T0, ice_agency, make_agency, make_query, make_response

M = 60.0
ICE = ice_agency("XXSYN0001")
CBP = make_agency(ori="XXSYN0002", category="FE", component="CBP", immigration_enforcement=True)
BEFORE_BLOCK = datetime(2025, 11, 1, tzinfo=UTC).timestamp()  # WA's ACCESS block starts 2025-11-19

# Window W0 = [T0, T0+60m)                                     | W1
#   +5m  q1 ICE->WA, r1 HIT            -> leak
#   +10m q2 ICE->WA, r2 MULTI_HIT (r2 redelivered)  -> leak (once)
#   +15m q3 ICE->WA, r3 BLOCKED        -> the block worked: nothing
#   +20m q4 CBP->WA, r4 HIT            -> CBP kept access: a violation, not a leak
#   +25m q5 ICE->OR, r5 HIT            -> Oregon's switch does not block: no leak
#   +30m r6 HIT, query never seen      -> no requester to judge: nothing
#   (2025-11-01) q7 ICE->WA, r7 HIT    -> before the block: not a leak (closes with the first watermark)
#   wm T0+60m -> one finding, count 2 (r1, r2)
Q1 = make_query(event_id="q1", ts=T0 + 5 * M, agency=ICE)
Q2 = make_query(event_id="q2", ts=T0 + 10 * M, agency=ICE)
Q3 = make_query(event_id="q3", ts=T0 + 15 * M, agency=ICE)
Q4 = make_query(event_id="q4", ts=T0 + 20 * M, agency=CBP)
Q5 = make_query(event_id="q5", ts=T0 + 25 * M, agency=ICE, destinations=("OR",))
Q7 = make_query(event_id="q7", ts=BEFORE_BLOCK, agency=ICE)
R1 = make_response(Q1, event_id="r1")
R2 = make_response(Q2, event_id="r2", outcome="MULTI_HIT", record_count=3, photo_returned=True)
R3 = make_response(Q3, event_id="r3", outcome="BLOCKED_BY_POLICY", record_count=0)
R4 = make_response(Q4, event_id="r4")
R5 = make_response(Q5, event_id="r5")
R6 = make_response(None, event_id="r6", ts=T0 + 30 * M)
R7 = make_response(Q7, event_id="r7")

EVENTS = [
    ("r", R2, Q2), ("r", R1, Q1), ("r", R2, Q2), ("r", R3, Q3), ("r", R4, Q4), ("r", R5, Q5),
    ("r", R6, None), ("r", R7, Q7),
]  # fmt: skip
STEPS = [*EVENTS, ("wm", T0 + 59 * M), ("wm", T0 + 60 * M)]


def test_timeline() -> None:
    out = drive(build(PolicyLeak, fire_early=False), STEPS)
    assert [len(x) for x in out] == [0] * (len(EVENTS) + 1) + [1]
    (f,) = out[-1]
    assert (f.detector, f.severity, f.ori) == ("policy_leak", "critical", "XXSYN0001")
    assert f.group_key == "XXSYN0001|WA|WA-ACCESS-ICE-BLOCK" and f.policy_rule_id == "WA-ACCESS-ICE-BLOCK"
    assert (f.window_start, f.window_end, f.destination_state) == (T0, R2.ts, "WA")
    ev = f.evidence
    assert ev["count"] == 2 and ev["threshold"] == 1
    assert ev["by_outcome"] == {"HIT": 1, "MULTI_HIT": 1}
    assert ev["by_records"] == {"returned": 4} and ev["by_photo_returned"] == {"false": 1, "true": 1}
    assert ev["sample_event_ids"] == ["r1", "r2"] and ev["sample_query_ids"] == ["q1", "q2"]


def test_same_findings_in_any_order_and_across_a_restart() -> None:
    close = [("wm", T0 + 60 * M)]
    base = signature(flat(drive(build(PolicyLeak, fire_early=False), EVENTS + close)))
    assert len(base) == 1
    for perm in itertools.islice(itertools.permutations(EVENTS), 0, 40320, 331):
        assert signature(flat(drive(build(PolicyLeak, fire_early=False), [*perm, *close]))) == base
    for cut in range(len(EVENTS) + 1):
        assert signature(drive_with_restart(PolicyLeak, EVENTS + close, cut, fire_early=False)) == base


def test_findings_rederive_from_evidence() -> None:
    pairs = [(s[1], s[2]) for s in EVENTS]
    findings = flat(drive(build(PolicyLeak, fire_early=False), [*EVENTS, ("wm", T0 + 7200)]))
    policy = real_policy()
    assert findings
    for f in findings:
        ev, start = f.evidence, f.window_start
        state = policy.state(ev["responding_state"])
        matching = {
            r.event_id
            for r, q in pairs
            if q is not None and r.answered and q.ori == f.ori and r.responding_state == state.state
            and start <= r.ts < start + ev["window_s"]
            and ev["policy_rule_id"] in {h.rule_id for h in state.blocking_violations(q)}
        }  # fmt: skip
        assert ev["count"] == len(matching) >= ev["threshold"]
        assert set(ev["sample_event_ids"]) <= matching and ev["window_start"] == iso(start)


def test_photo_to_new_york_leaks_both_rules() -> None:
    q = make_query(event_id="ny", agency=ICE, destinations=("NY",), image_requested=True)
    steps = [("r", make_response(q, event_id="ny-r", photo_returned=True), q), ("wm", T0 + 3600)]
    rules = sorted(f.policy_rule_id or "" for f in flat(drive(build(PolicyLeak, fire_early=False), steps)))
    assert rules == ["NY-DMV-PHOTO-SYSTEM", "NY-VTL201-12-JUDICIAL"]
