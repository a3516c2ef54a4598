"""new_requester: warm-up learning, unregistered ORIs (new by definition), registered ORIs weighed
against their peer group's rate (unseen must be unlikely) and the rarity bound, order, lateness and
restart invariance, evidence re-derivation."""

from __future__ import annotations

import json
import math
import random

import pytest

from stream.detectors._requester_peers import PeerRates, p_unseen
from stream.detectors.new_requester import NewRequester
from stream.records import Agency, Query
from tests.unit.detector_steps import apply, build, drive, drive_with_restart, flat, signature
from tests.unit.factories import T0, ice_agency, make_agency, make_query
from tests.unit.synth_eval import steps_for

H, D = 3600.0, 86400.0
REGULARS = [make_agency(ori=f"TX00{i:05d}") for i in range(20)]
BUSY_HSI = [ice_agency(f"XXSYNH{i:03d}", component="HSI") for i in range(6)]  # each queries hourly
QUIET_ICE = [ice_agency(f"XXSYNQ{i:03d}") for i in range(10)]  # each queries once every 3 days
QUIET_HSI = [ice_agency(f"XXSYNR{i:03d}", component="HSI") for i in range(10)]  # same
BUSY_ICE = [ice_agency(f"XXSYNB{i:03d}") for i in range(6)]  # each queries hourly


def background(days: float, start: float = T0, groups: tuple[list[Agency], ...] = ()) -> list[Query]:
    """Every regular agency (and those of `groups`) queries each hour, from `start`, for `days` days."""
    agencies = REGULARS + [a for g in groups for a in g]
    return [
        make_query(agency=a, ts=start + h * H + 60 * i)
        for h in range(int(days * 24))
        for i, a in enumerate(agencies)
    ]


def sparse(agencies: list[Agency], days: float, every_h: int = 72) -> list[Query]:
    """Each agency queries once every `every_h` hours, staggered so some are first seen late."""
    return [
        make_query(agency=a, ts=T0 + h * H + 1800)
        for i, a in enumerate(agencies)
        for h in range((7 * i) % every_h, int(days * 24), every_h)
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


# |-- warm-up --|-- day 1 --|-- day 2 10:00 --------------------------------------------------|
#  PD regulars, 6 HSI offices and 6 ICE offices hourly;  10 ICE offices once every 3 days (some unseen)
#   XXSYNQ999 (registered ICE, quiet group: its peers are often unseen for days): 40 q -> quiet
#   XXSYNH999 (registered HSI, busy group, silent 2 days):                      40 q -> fires
#   XXSYNZ999 (ICE-ERO office in no registry):                                   3 q -> fires
#   XXSYNQ998 (registered ICE, quiet group) only 1 query                              -> quiet
def test_registered_ori_is_new_only_if_its_peers_make_unseen_unlikely() -> None:
    events = background(4, groups=(BUSY_HSI,)) + sparse(QUIET_ICE, 4)
    day2 = T0 + 2 * D + 10 * H
    events += newcomer(ice_agency("XXSYNQ999"), day2, 40)
    events += newcomer(ice_agency("XXSYNH999", component="HSI"), day2, 40)
    events += newcomer(ice_agency("XXSYNZ999", known=False), day2, 3)
    events += newcomer(ice_agency("XXSYNQ998"), day2, 1)
    found = {f.ori: f for f in run(events)}
    assert sorted(found) == ["XXSYNH999", "XXSYNZ999"]
    hsi = found["XXSYNH999"].evidence
    assert hsi["peer_group"] == "HSI" and hsi["peers_seen"] == len(BUSY_HSI)
    assert hsi["p_unseen"] < hsi["unseen_chance"] and hsi["observed_value"] >= hsi["threshold"] > 1
    assert "p_unseen" not in found["XXSYNZ999"].evidence  # new by definition, no peer test
    # a stricter unseen_chance keeps the quiet group's ORI quiet and the busy group's ORI reported
    assert sorted(f.ori for f in run(events, unseen_chance=1e-9)) == ["XXSYNH999", "XXSYNZ999"]


# |-- warm-up --|-- ... 60 days of busy ICE peers -- day 60 10:00: XXSYN0042 makes `late` queries |
def test_busy_group_newcomer_needs_fewer_queries_as_the_monitor_learns() -> None:
    fed = {"fed": True, "imm": True, "reg": True}
    det = build(NewRequester)
    det.first_ts = T0
    early, late = det.required({**fed, "first": T0 + 2 * D}), det.required({**fed, "first": T0 + 60 * D})
    assert late < early and late <= 3
    events = background(61, groups=(BUSY_ICE,))
    found = run(events + newcomer(ice_agency("XXSYN0042"), T0 + 60 * D + 10 * H, late))
    assert [(f.ori, f.severity) for f in found] == [("XXSYN0042", "high")]
    assert found[0].evidence["threshold"] == late
    assert run(events + newcomer(ice_agency("XXSYN0042"), T0 + 60 * D + 10 * H, late - 1)) == []


# |-- warm-up --|-- day 2: registered ICE office, 40 queries; its group has only 4 seen peers --|
def test_too_few_seen_peers_is_no_evidence() -> None:
    events = background(4, groups=(BUSY_ICE[:4],))
    events += newcomer(ice_agency("XXSYN0043"), T0 + 2 * D + 10 * H, 40)
    assert run(events) == []
    assert [f.ori for f in run(events, min_peers=4)] == ["XXSYN0043"]


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


def test_peer_summary_counts_closed_hours_only_and_weighs_the_quiet_tail() -> None:
    rates = PeerRates(cap=1000)
    for i, n in enumerate([1, 2, 3, 4, 70]):
        for k in range(n):
            rates.add(T0 + k, "HSI", f"HSI{i}")
    rates.add(T0 + H + 5, "HSI", "HSI9")  # in an hour not yet closed
    rates.close(T0 + H, keep_from=T0)
    assert rates.at(T0 + H, "HSI") == {"1": 1, "2": 1, "3": 1, "4": 1, "50": 1}
    assert rates.at(T0 + H, "CBP") is None
    assert rates.at(T0 + H - 1, "HSI") is None  # nothing closed before the first boundary
    rates.close(T0 + 2 * H, keep_from=T0)
    assert rates.at(T0 + 5 * H, "HSI") == {"1": 2, "2": 1, "3": 1, "4": 1, "50": 1}
    # two singletons: each misses the span with chance exp(-1), whatever their weight
    assert p_unseen({"1": 2}, 1.0) == pytest.approx(math.exp(-1))
    # a singleton stands for 1/(1 - e^-1) ORIs, a busy peer for one: the quiet tail dominates
    w = 1 / (1 - math.exp(-1))
    assert p_unseen({"1": 1, "50": 1}, 1.0) == pytest.approx(w * math.exp(-1) / (w + 1))
    assert p_unseen({"50": 9}, 1.0) < 1e-20 and p_unseen({}, 1.0) == 1.0


def test_everything_is_learned_during_warmup() -> None:
    events = background(0.5) + newcomer(ice_agency("XXSYN0099"), T0 + 3 * H, 50)
    assert run(events) == []


def _mixed() -> list[Query]:
    return (
        background(3, groups=(BUSY_ICE,))
        + sparse(QUIET_HSI, 3)
        + newcomer(make_agency(ori="NEWPD0002", known=False), T0 + 2 * D + 10 * H, 40)
        + newcomer(ice_agency("XXSYN0077"), T0 + 2 * D + 15 * H, 30)  # busy ICE group: fires
        + newcomer(ice_agency("XXSYNR977", component="HSI"), T0 + 2 * D + 15 * H, 30, every=100)
    )


def test_arrival_order_within_lateness_does_not_change_findings() -> None:
    events = sorted(_mixed(), key=lambda q: q.ts)
    rng = random.Random(4)
    shuffled = sorted(events, key=lambda q: q.ts + rng.random() * 250)
    a = flat(drive(build(NewRequester), steps_for(events)))
    b = flat(drive(build(NewRequester), steps_for(shuffled)))
    assert sorted(f.ori for f in a) == ["NEWPD0002", "XXSYN0077"] and signature(a) == signature(b)


# |-- warm-up --|-- day 2 10:00 HSI newcomer (30 q) --|   late HSI-peer events (before the
# watermark) are dropped: they neither count for the peers nor reopen a closed hour
def test_events_behind_the_watermark_change_nothing() -> None:
    events = background(4, groups=(BUSY_HSI,)) + newcomer(ice_agency("XXSYNH777", component="HSI"),
                                                           T0 + 2 * D + 10 * H, 30)  # fmt: skip
    steps = steps_for(sorted(events, key=lambda q: q.ts))
    at = next(i for i, s in enumerate(steps) if s[0] == "wm" and s[1] >= T0 + 2 * D)
    late = [("q", make_query(agency=BUSY_HSI[0], ts=T0 + D + k)) for k in range(500)]
    late += [("q", make_query(agency=ice_agency("XXSYNH777", component="HSI"), ts=T0 + D + 9))]
    plain = flat(drive(build(NewRequester), steps))
    with_late = flat(drive(build(NewRequester), steps[:at] + late + steps[at:]))
    assert [f.ori for f in plain] == ["XXSYNH777"] and signature(plain) == signature(with_late)


@pytest.mark.parametrize("cut", [0.4, 0.9])
def test_snapshot_restore_mid_stream_gives_the_same_findings(cut: float) -> None:
    steps = steps_for(sorted(_mixed(), key=lambda q: q.ts))
    whole = flat(drive(build(NewRequester), steps))
    assert whole and signature(whole) == signature(
        drive_with_restart(NewRequester, steps, int(len(steps) * cut))
    )


def test_restore_of_a_snapshot_without_peer_counts() -> None:
    steps = steps_for(sorted(_mixed(), key=lambda q: q.ts))
    at = next(i for i, s in enumerate(steps) if s[0] == "wm" and s[1] >= T0 + 2 * D)
    first = build(NewRequester)
    before = flat(drive(first, steps[:at]))
    old = {k: v for k, v in json.loads(json.dumps(first.snapshot())).items() if k != "peers"}
    second = build(NewRequester)
    second.restore(old)
    after = [f for s in steps[at:] for f in apply(second, s)]
    # peer counts restart at the restore: the busy ICE group is known again after a few hours, and
    # its rate is measured over the time counted (not the whole history)
    assert before == [] and sorted(f.ori for f in after) == ["NEWPD0002", "XXSYN0077"]
    ev = next(f.evidence for f in after if f.ori == "XXSYN0077")
    assert ev["peer_span_s"] < ev["unseen_s"] and ev["p_unseen"] < ev["unseen_chance"]
    assert json.loads(json.dumps(second.snapshot()))["peers"]["counts"]["ICE-ERO"]


def test_findings_are_rederivable_from_evidence() -> None:
    det = build(NewRequester)
    found = flat(drive(det, steps_for(sorted(_mixed(), key=lambda q: q.ts))))
    assert {f.ori for f in found} == {"NEWPD0002", "XXSYN0077"}
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
        if described:  # the peer test: an ORI at the peers' rate stays unseen this long rarely
            assert ev["unseen_s"] == ev["first_query_ts"] - T0
            ratio = ev["unseen_s"] / ev["peer_span_s"]
            weights = {int(k): m / (1 - math.exp(-int(k))) for k, m in ev["peer_counts"].items()}
            p = sum(w * math.exp(-k * ratio) for k, w in weights.items()) / sum(weights.values())
            assert ev["p_unseen"] == pytest.approx(p) and p < ev["unseen_chance"]
            assert ev["peers_seen"] >= det.p.min_peers
    assert det.state_size() == len(det.known) + det.peers.size and "NEWPD0002" in det.known
