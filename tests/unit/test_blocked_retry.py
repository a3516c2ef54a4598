"""blocked_retry: many policy blocks for one ORI in an aligned hour is probing the block."""

from __future__ import annotations

import itertools

from stream.detectors.blocked_retry import BlockedRetry, BlockedRetryParams
from stream.findings import iso
from tests.unit.detector_steps import build, drive, drive_with_restart, flat, signature
from tests.unit.factories import T0, ice_agency, make_agency, make_query, make_response

M = 60.0
ICE = ice_agency("XXSYN0001")
PD = make_agency(ori="WA0340000")


def blocked(n: int, ori_agency=ICE, minute: float = 0.0, outcome: str = "BLOCKED_BY_POLICY", tag: str = "b"):  # type: ignore[no-untyped-def]
    """Step tuples for n blocked answers, one a minute from `minute`."""
    out = []
    for i in range(n):
        q = make_query(event_id=f"{tag}q{i}", ts=T0 + (minute + i) * M, agency=ori_agency)
        r = make_response(q, event_id=f"{tag}r{i}", outcome=outcome, policy_rule_id="WA-ACCESS-ICE-BLOCK")
        out.append(("r", r, q))
    return out


# W0 = [T0, T0+60m)                                  | W1 = [T0+60m, T0+120m)
#   ICE: 4 BLOCKED at +0..+3m, 1 SM_04 at +40m         |  ICE: 3 BLOCKED at +70..72m
#        (the SM_04 arrives first, r2 is redelivered)  |
#   PD: 2 BLOCKED (+10m): a single block is normal     |
#   ICE: 1 HIT and 1 unjoined BLOCKED: not counted     |
#   wm T0+60m -> ICE fires (5 >= 5); PD does not.  wm T0+120m -> nothing (3 < 5)
#   late: a BLOCKED at +50m arriving after wm T0+60m is dropped (windowed threshold)
SM = blocked(1, minute=40, outcome="SM_04", tag="s")
W0 = blocked(4)
HIT = make_query(event_id="hq", ts=T0 + 5 * M, agency=ICE)
NOISE = [
    *blocked(2, PD, minute=10, tag="p"),
    ("r", make_response(HIT, event_id="hr"), HIT),
    ("r", make_response(None, event_id="ur", ts=T0 + 6 * M, outcome="BLOCKED_BY_POLICY"), None),
]
W1 = blocked(3, minute=70, tag="w1")
LATE = blocked(1, minute=50, tag="late")
STEPS = [*SM, *W0, W0[2], *NOISE, ("wm", T0 + 60 * M), *W1, *LATE, ("wm", T0 + 120 * M)]


def test_timeline() -> None:
    det = build(BlockedRetry)
    out = drive(det, STEPS)
    fired = [(i, f) for i, fs in enumerate(out) for f in fs]
    assert [i for i, _ in fired] == [len(SM) + len(W0) + 1 + len(NOISE)]
    f = fired[0][1]
    assert (f.ori, f.group_key, f.window_start, f.severity) == ("XXSYN0001", "XXSYN0001", T0, "warning")
    assert f.window_end == T0 + 40 * M + 1  # the SM_04 answer, last event of the window
    ev = f.evidence
    assert ev["count"] == 5 and ev["threshold"] == 5 and ev["high_threshold"] == 50
    assert ev["by_outcome"] == {"BLOCKED_BY_POLICY": 4, "SM_04": 1}
    assert ev["by_state"] == {"WA": 5} and f.destination_state == "WA"
    assert ev["sample_event_ids"] == ["br0", "br1", "br2", "br3", "sr0"]
    assert det.snapshot()["late_dropped"] == 1


def test_severity_escalates_and_outcomes_are_configurable() -> None:
    det = build(BlockedRetry, min_count=3, high_count=4, outcomes=("BLOCKED_BY_POLICY",))
    out = flat(drive(det, [*blocked(4), *SM, ("wm", T0 + 3600)]))
    assert [(f.severity, f.evidence["count"]) for f in out] == [("high", 4)]


def test_params_are_strict() -> None:
    for bad in ({"min_count": 1}, {"min_count": 10, "high_count": 5}, {"outcomes": ["HIT"]}, {"x": 1}):
        try:
            BlockedRetryParams(**bad)
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad}")


def test_same_findings_in_any_order_and_across_a_restart() -> None:
    events = [*SM, *W0, W0[2], *NOISE]
    close = [("wm", T0 + 3600)]
    base = signature(flat(drive(build(BlockedRetry), events + close)))
    assert len(base) == 1
    for perm in itertools.islice(itertools.permutations(events), 0, 10**6, 7919):
        assert signature(flat(drive(build(BlockedRetry), [*perm, *close]))) == base
    for cut in range(len(events) + 1):
        assert signature(drive_with_restart(BlockedRetry, events + close, cut)) == base


def test_findings_rederive_from_evidence() -> None:
    pairs = [(s[1], s[2]) for s in STEPS if s[0] == "r"]
    findings = flat(drive(build(BlockedRetry), [*(s for s in STEPS if s[0] == "r"), ("wm", T0 + 7200)]))
    outcomes = BlockedRetryParams().outcomes
    assert findings
    for f in findings:
        ev, start = f.evidence, f.window_start
        matching = {
            r.event_id
            for r, q in pairs
            if q is not None and q.ori == f.ori and r.outcome in outcomes
            and start <= r.ts < start + ev["window_s"]
        }  # fmt: skip
        assert ev["count"] == len(matching) >= ev["threshold"]
        assert set(ev["sample_event_ids"]) <= matching and ev["window_start"] == iso(start)
