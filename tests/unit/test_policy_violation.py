"""policy_violation: grouped per (ORI, state, rule, aligned hour), fired when the hour closes."""

from __future__ import annotations

import itertools

from stream.detectors.policy_violation import PolicyViolation
from stream.findings import iso
from tests.unit.detector_steps import build, drive, drive_with_restart, flat, real_policy, signature
from tests.unit.factories import T0, ice_agency, make_agency, make_query

M = 60.0
ICE = ice_agency("XXSYN0001")
# Window W0 = [T0, T0+60m)                               | W1 = [T0+60m, T0+120m)
#   +5m a (admin warrant, NY)   +30m b (no predicate)     |
#   +10m pd (local PD, NY: fine)   b again (duplicate)    |
#   +20m c (to NJ, no predicate) arrives before a         |
#   +45m ok (judicial warrant + case number: fine)        |
#   wm T0+59m: nothing yet; wm T0+60m: NY group (3) and NJ group (1) fire
#   late d (+50m, arrives after wm T0+60m) -> its own "late" bucket, fires at wm T0+61m
A = make_query(
    event_id="a", ts=T0 + 5 * M, agency=ICE, destinations=("NY",), predicate="administrative_warrant"
)
B = make_query(event_id="b", ts=T0 + 30 * M, agency=ICE, destinations=("NY",))
C = make_query(event_id="c", ts=T0 + 20 * M, agency=ICE, destinations=("NJ",))
PD = make_query(event_id="pd", ts=T0 + 10 * M, agency=make_agency(), destinations=("NY",))
OK = make_query(
    event_id="ok", ts=T0 + 45 * M, agency=ICE, destinations=("NY",), predicate="judicial_warrant",
    has_case_number=True,
)  # fmt: skip
A2 = make_query(event_id="a2", ts=T0 + 6 * M, agency=ICE, destinations=("NY",))
D = make_query(event_id="d", ts=T0 + 50 * M, agency=ICE, destinations=("NY",))

STEPS = [
    ("q", C), ("q", A), ("q", PD), ("q", B), ("q", B), ("q", A2), ("q", OK),
    ("wm", T0 + 59 * M), ("wm", T0 + 60 * M), ("q", D), ("wm", T0 + 61 * M),
]  # fmt: skip


def test_timeline() -> None:
    out = drive(build(PolicyViolation, fire_early=False), STEPS)
    assert [len(x) for x in out] == [0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1]
    nj, ny = sorted(out[8], key=lambda f: f.group_key)
    assert ny.group_key == "XXSYN0001|NY|NY-VTL201-12-JUDICIAL"
    assert (ny.window_start, ny.window_end, ny.severity) == (T0, T0 + 30 * M, "high")
    assert ny.evidence["count"] == 3  # a, a2, b: the duplicate b and the lawful query do not count
    assert ny.evidence["by_reason"] == {
        "administrative_warrant": 1, "missing_case_number": 3, "restricted_agency_no_predicate": 2,
    }  # fmt: skip
    assert ny.evidence["sample_event_ids"] == ["a", "a2", "b"]
    assert ny.policy_rule_id == "NY-VTL201-12-JUDICIAL" and ny.destination_state == "NY"
    assert nj.group_key == "XXSYN0001|NJ|NJ-MVC-COURT-ISSUED" and nj.evidence["count"] == 1
    late = out[10][0]
    assert late.group_key.startswith("XXSYN0001|NY|NY-VTL201-12-JUDICIAL|late@")
    assert late.window_start == T0 and late.evidence["late_bucket"] is True
    assert late.alert_id("v") != ny.alert_id("v")


def test_multi_state_parent_is_skipped_children_are_checked() -> None:
    parent = make_query(event_id="p", agency=ICE, destinations=("NL",))
    child = make_query(event_id="p-ny", agency=ICE, destinations=("NY",), parent_query_id="p")
    out = flat(
        drive(build(PolicyViolation, fire_early=False), [("q", parent), ("q", child), ("wm", T0 + 3600)])
    )
    assert [f.evidence["sample_event_ids"] for f in out] == [["p-ny"]]


def test_same_findings_in_any_order_and_across_a_restart() -> None:
    events = [("q", e) for e in (C, A, PD, B, B, A2, OK)]
    close = [("wm", T0 + 60 * M)]
    base = signature(flat(drive(build(PolicyViolation, fire_early=False), events + close)))
    assert len(base) == 2
    for perm in itertools.islice(itertools.permutations(events), 0, 5040, 97):
        assert signature(flat(drive(build(PolicyViolation, fire_early=False), [*perm, *close]))) == base
    for cut in range(len(events) + 1):
        assert signature(drive_with_restart(PolicyViolation, events + close, cut, fire_early=False)) == base


def test_findings_rederive_from_evidence() -> None:
    events = [C, A, PD, B, A2, OK, D]
    findings = flat(
        drive(build(PolicyViolation, fire_early=False), [*(("q", e) for e in events), ("wm", T0 + 7200)])
    )
    policy = real_policy()
    assert findings
    for f in findings:
        ev = f.evidence
        start, state, rule = f.window_start, ev["destination_state"], ev["policy_rule_id"]
        matching = {
            e.event_id
            for e in events
            if e.ori == f.ori and start <= e.ts < start + ev["window_s"] and state in e.state_destinations
            and rule in {h.rule_id for h in policy.state(state).violations(e)}  # type: ignore[union-attr]
        }  # fmt: skip
        assert ev["count"] == len(matching) >= ev["threshold"]
        assert set(ev["sample_event_ids"]) <= matching
        assert ev["window_start"] == iso(start)
