"""bulk_sweep: timed steps against the key's own history, peers and floors; order and restart
invariance; findings re-derived from their evidence; bounded distinct counting."""

from __future__ import annotations

import random

import pytest

from stream.detectors._robust import SampledSet
from stream.detectors.bulk_sweep import BulkSweep
from stream.records import Query
from tests.unit.detector_steps import build, drive, drive_with_restart, flat, signature
from tests.unit.factories import T0, make_agency, make_query
from tests.unit.synth_eval import steps_for

H, D = 3600.0, 86400.0
PD = make_agency(ori="WA0340000")


def patrol(days: int, per_hour: int = 5, ops: tuple[str, ...] = ("op1", "op2"), seed: int = 1) -> list[Query]:
    """Each operator: `per_hour` distinct plates an hour, 08:00-18:00, for `days` days."""
    rng, out = random.Random(seed), []
    for d in range(days):
        for h in range(8, 18):
            for op in ops:
                for i in range(per_hour):
                    ts = T0 + d * D + h * H + rng.random() * H
                    out.append(make_query(agency=PD, ts=ts, operator_id=op, subject_key=f"p{d}{h}{op}{i}"))
    return sorted(out, key=lambda q: q.ts)


def sweep(t0: float, n: int, span: float, ops: tuple[str, ...] = ("op1",), **kw: object) -> list[Query]:
    return [
        make_query(agency=PD, ts=t0 + span * i / n, operator_id=ops[i % len(ops)], subject_key=f"sw{i}", **kw)
        for i in range(n)
    ]


def run(queries: list[Query], **params: object) -> list:
    return flat(drive(build(BulkSweep, **params), steps_for(sorted(queries, key=lambda q: q.ts))))


# day 0..2  |08 ##### 18|  op1, op2: 5 distinct/h (history: median daily max 1h ~ 5-8)
# day 3     |08 ##### 10:00 [op1: 120 distinct in 1 h] 11 ##### 18|
#                          ^ one finding: op1, scale 1 h, window aligned to a 30-min hop
def test_operator_sweep_fires_once_against_own_history() -> None:
    events = patrol(4) + sweep(T0 + 3 * D + 10 * H, 120, H)
    found = run(events)
    assert len(found) == 1
    f = found[0]
    assert (f.ori, f.operator_id, f.evidence["scale_s"]) == ("WA0340000", "op1", 3600)
    assert f.window_start % 1800 == 0 and f.window_start <= T0 + 3 * D + 10 * H < f.window_end
    assert f.evidence["baseline_basis"] == "own_median_daily_max"
    assert f.evidence["rules"] == ["distinct_subjects"]


def test_benign_patrol_days_stay_quiet() -> None:
    assert run(patrol(6, per_hour=8, ops=("a", "b", "c"))) == []


# day 0..2 patrol; day 3 10:00-11:00: five operators, 25 distinct each (each under its floor)
#   -> ORI-level finding only
def test_sweep_split_across_operators_adds_up_at_ori_level() -> None:
    ops = ("s1", "s2", "s3", "s4", "s5")
    found = run(patrol(4) + sweep(T0 + 3 * D + 10 * H, 125, H, ops=ops))
    assert [f.evidence["scope"] for f in found] == ["ORI"]
    ev = found[0].evidence
    assert found[0].operator_id is None and ev["distinct_subjects"] > ev["threshold_distinct"]


# day 1 12:00: RPQ KT1* KT2* ... KT8* from an operator never seen before -> enumeration
def test_partial_plate_enumeration() -> None:
    walk = [
        make_query(agency=PD, ts=T0 + D + 12 * H + 60 * i, operator_id="x", message_key="RPQ",
                   search_mode="partial_plate", subject_key=None, pattern=f"KT{i}*")
        for i in range(1, 9)
    ]  # fmt: skip
    found = run(patrol(2) + walk)
    assert found and found[0].evidence["rules"] == ["enumeration"]
    assert found[0].evidence["max_sibling_patterns"] == 8


def test_multi_state_children_are_not_counted() -> None:
    children = [
        make_query(agency=PD, ts=T0 + 3 * D + 10 * H + i, operator_id="op1", subject_key=f"c{i}",
                   parent_query_id="parent", first_of_logical=False)
        for i in range(300)
    ]  # fmt: skip
    assert run(patrol(4) + children) == []


def test_no_history_key_cannot_fire_on_volume_during_global_warmup() -> None:
    big = sweep(T0 + 2 * H, 500, H, ops=("new",))
    assert run(big) == []  # the monitor has not seen a day yet: size unknown
    assert run(patrol(2) + sweep(T0 + D + 12 * H, 500, H, ops=("new",)))  # after warm-up: judged


def _events_with_sweeps() -> list[Query]:
    return (
        patrol(4) + sweep(T0 + 3 * D + 10 * H, 120, H) + sweep(T0 + 3 * D + 14 * H, 90, 6 * H, ops=("op2",))
    )


def test_arrival_order_within_lateness_does_not_change_findings() -> None:
    events = sorted(_events_with_sweeps(), key=lambda q: q.ts)
    rng = random.Random(3)
    shuffled = sorted(events, key=lambda q: q.ts + rng.random() * 200)  # inside the 300 s lateness
    a = flat(drive(build(BulkSweep), steps_for(events)))
    b = flat(drive(build(BulkSweep), steps_for(shuffled)))
    assert a and signature(a) == signature(b)


@pytest.mark.parametrize("cut", [0.3, 0.77])
def test_snapshot_restore_mid_stream_gives_the_same_findings(cut: float) -> None:
    steps = steps_for(sorted(_events_with_sweeps(), key=lambda q: q.ts))
    whole = flat(drive(build(BulkSweep), steps))
    restarted = drive_with_restart(BulkSweep, steps, at=int(len(steps) * cut))
    assert whole and signature(whole) == signature(restarted)


def test_findings_are_rederivable_from_evidence() -> None:
    p = BulkSweep.params_model()
    for f in run(_events_with_sweeps()):
        ev = f.evidence
        si = p.scales_s.index(ev["scale_s"])
        if ev["baseline_basis"] == "own_median_daily_max":
            assert ev["threshold_distinct"] == pytest.approx(
                max(ev["floor_distinct"], p.k_own * ev["baseline_distinct"])
            )
            assert ev["floor_distinct"] == p.floor_distinct[si]
        for rule, observed, threshold in (
            ("distinct_subjects", ev["distinct_subjects"], ev["threshold_distinct"]),
            ("wildcard_searches", ev["wildcard_searches"], ev["threshold_wildcard"]),
        ):
            assert (rule in ev["rules"]) == (threshold is not None and observed > threshold)
        assert ev["observed_value"] > ev["threshold"] or ev["rules"][0] == "enumeration"


def test_distinct_count_is_bounded_and_order_independent() -> None:
    items = [f"s{i}" for i in range(20_000)]
    from stream.detectors._robust import stable_hash

    a, b = SampledSet(256), SampledSet(256)
    for x in items:
        a.add(stable_hash(x))
    for x in reversed(items):
        b.add(stable_hash(x))
    assert len(a.members) <= 256 and a.dump() == b.dump()
    assert abs(a.estimate() - 20_000) / 20_000 < 0.25


def test_state_shrinks_after_windows_close() -> None:
    det = build(BulkSweep)
    drive(det, steps_for(patrol(2), tail_s=0))
    busy = det.state_size()
    drive(det, [("wm", T0 + 40 * D)])
    assert det.state_size() < busy and not det.open


def test_a_window_from_base_buckets_equals_one_bucket_of_all_its_events() -> None:
    # 5,000 subjects (past the exact cap of 256) and 700 patterns (past the cap of 512), split over
    # 48 half-hour buckets: the union is the bucket a single hop would have built
    from stream.detectors._robust import stable_hash
    from stream.detectors._sweep_state import Bucket

    rng = random.Random(3)
    items = [(stable_hash(f"s{i}"), f"AB{i:04d}*") for i in range(5_000)]
    whole, parts = Bucket(256, 512), [Bucket(256, 512) for _ in range(48)]
    for h, pat in items:  # in pattern order: the whole bucket keeps the smallest patterns, as the union does
        whole.add(h, True, pat if h % 7 == 0 else None, PD)
        rng.choice(parts).add(h, True, pat if h % 7 == 0 else None, PD)
    window = Bucket.union(parts)
    assert window is not None and whole.subjects.level > 0
    assert (window.distinct(), window.wild_distinct()) == (whole.distinct(), whole.wild_distinct())
    assert window.n == whole.n == 5_000
    assert window.subjects.dump() == whole.subjects.dump() and window.patterns == whole.patterns


def test_scales_must_nest_in_the_longest() -> None:
    with pytest.raises(ValueError, match="scales_s"):
        build(BulkSweep, scales_s=[3600, 64800, 86400])  # 18 h is more than half of 24 h
    assert build(BulkSweep, scales_s=[1800, 7200]).p.scales_s == [1800, 7200]


def test_checkpoint_from_before_base_buckets_restores_without_its_open_windows() -> None:
    det = build(BulkSweep)
    drive(det, steps_for(patrol(4), tail_s=0))
    state = det.snapshot()
    old = {k: v for k, v in state.items() if k != "base"} | {"open": [[0, "WA0340000", []]]}
    again = build(BulkSweep)
    again.restore(old)
    assert again.history == det.history and not again.open and not again.due
