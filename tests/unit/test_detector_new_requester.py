"""new_requester: warm-up learning, minimum counts (any query for federal agencies once the rarity
bound allows), the rarity bound itself, order and restart invariance, evidence re-derivation."""

from __future__ import annotations

import math
import random

import pytest

from stream.detectors.new_requester import NewRequester
from stream.records import Agency, Query
from tests.unit.detector_steps import build, drive, drive_with_restart, flat, signature
from tests.unit.factories import T0, ice_agency, make_agency, make_query
from tests.unit.synth_eval import steps_for

H, D = 3600.0, 86400.0
REGULARS = [make_agency(ori=f"TX00{i:05d}") for i in range(20)]


def background(days: int, start: float = T0) -> list[Query]:
    """Every regular agency queries each hour, from `start`, for `days` days."""
    return [
        make_query(agency=a, ts=start + h * H + 60 * i)
        for h in range(int(days * 24))
        for i, a in enumerate(REGULARS)
    ]


def newcomer(agency: Agency, t0: float, n: int, every: float = 300.0) -> list[Query]:
    return [make_query(agency=agency, ts=t0 + i * every) for i in range(n)]


def run(events: list[Query], **params: object) -> list:
    return flat(drive(build(NewRequester, **params), steps_for(sorted(events, key=lambda q: q.ts))))


# |-- warm-up 24 h: everyone learned --|-- day 1..3 --------------------------------------------|
#   NEWPD0001 at 02:00 (learned)   NEWPD0002 (in no registry): 40 queries at day 2 10:00 -> fires
#                                  NEWPD0003 (in no registry): 2 queries (below the bar) -> quiet
#                                  LOCAL0004 (a described local PD): 40 queries -> quiet by default
def test_new_unlisted_agency_after_warmup() -> None:
    events = background(4) + newcomer(make_agency(ori="NEWPD0001"), T0 + 2 * H, 10)
    events += newcomer(make_agency(ori="NEWPD0002", known=False), T0 + 2 * D + 10 * H, 40)
    events += newcomer(make_agency(ori="NEWPD0003", known=False), T0 + 2 * D + 10 * H, 2)
    events += newcomer(make_agency(ori="LOCAL0004"), T0 + 2 * D + 10 * H, 40)
    found = run(events)
    assert [(f.ori, f.severity) for f in found] == [("NEWPD0002", "high")]
    assert found[0].window_start == T0 + 2 * D + 10 * H
    assert [f.ori for f in run(events, report_described_local=True)] == ["LOCAL0004", "NEWPD0002"]


def test_federal_newcomer_is_high_and_needs_fewer_queries_as_the_monitor_learns() -> None:
    fed = {"fed": True, "imm": True, "reg": True}
    det = build(NewRequester)
    det.first_ts = T0
    early, late = det.required({**fed, "first": T0 + 2 * D}), det.required({**fed, "first": T0 + 60 * D})
    assert late < early and late <= 3
    events = background(61) + newcomer(ice_agency("XXSYN0042"), T0 + 60 * D + 10 * H, late)
    found = run(events)
    assert [(f.ori, f.severity) for f in found] == [("XXSYN0042", "high")]
    assert found[0].evidence["threshold"] == late
    assert run(background(61) + newcomer(ice_agency("XXSYN0042"), T0 + 60 * D + 10 * H, late - 1)) == []


def test_rarity_bound_is_the_smallest_count_a_rare_agency_reaches_rarely() -> None:
    det = build(NewRequester)
    det.first_ts = T0
    cand = {"first": T0 + 2 * D, "fed": True, "imm": True, "reg": True}
    need = det.required(cand)
    lam = det.rarity_rate(cand)
    assert lam == pytest.approx(3.0 * 86400 / (2 * D))

    def tail(n: int) -> float:
        return 1.0 - sum(math.exp(-lam) * lam**k / math.factorial(k) for k in range(n))

    assert tail(need) < det.p.false_rate_federal <= tail(need - 1)
    assert det.required({**cand, "reg": False}) == det.p.min_queries_federal  # not in registry nor event


def test_everything_is_learned_during_warmup() -> None:
    events = background(0.5) + newcomer(ice_agency("XXSYN0099"), T0 + 3 * H, 50)
    assert run(events) == []


def _mixed() -> list[Query]:
    return (
        background(3)
        + newcomer(make_agency(ori="NEWPD0002", known=False), T0 + 2 * D + 10 * H, 40)
        + newcomer(ice_agency("XXSYN0077"), T0 + 2 * D + 15 * H, 30)
    )


def test_arrival_order_within_lateness_does_not_change_findings() -> None:
    events = sorted(_mixed(), key=lambda q: q.ts)
    rng = random.Random(4)
    shuffled = sorted(events, key=lambda q: q.ts + rng.random() * 250)
    a = flat(drive(build(NewRequester), steps_for(events)))
    b = flat(drive(build(NewRequester), steps_for(shuffled)))
    assert len(a) == 2 and signature(a) == signature(b)


@pytest.mark.parametrize("cut", [0.4, 0.9])
def test_snapshot_restore_mid_stream_gives_the_same_findings(cut: float) -> None:
    steps = steps_for(sorted(_mixed(), key=lambda q: q.ts))
    whole = flat(drive(build(NewRequester), steps))
    assert whole and signature(whole) == signature(
        drive_with_restart(NewRequester, steps, int(len(steps) * cut))
    )


def test_findings_are_rederivable_from_evidence() -> None:
    det = build(NewRequester)
    found = flat(drive(det, steps_for(sorted(_mixed(), key=lambda q: q.ts))))
    for f in found:
        ev = f.evidence
        lam = ev["baseline"]
        assert ev["observed_value"] >= ev["threshold"]
        assert lam == pytest.approx(3.0 * det.p.window_s / (ev["first_query_ts"] - T0), rel=1e-3)
        n, tail, term = 0, 1.0, math.exp(-lam)
        while tail >= ev["false_rate"]:
            tail, n, term = tail - term, n + 1, term * lam / (n + 1)
        floor = det.p.min_queries_federal if ev["federal"] else det.p.min_queries
        described = ev["described_by_registry_or_event"]
        assert ev["threshold"] == (max(floor, n) if described else floor)
    assert det.state_size() == len(det.known) and "NEWPD0002" in det.known
