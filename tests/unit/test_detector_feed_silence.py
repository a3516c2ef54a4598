"""feed_silence: gaps judged against what is normal for the hour, fired from the watermark; live (idle
wall clock) and replay (events resume) give the same alert; order and restart invariance."""

from __future__ import annotations

import random

import pytest

from stream.detectors.feed_silence import FeedSilence
from stream.records import Query
from tests.unit.detector_steps import build, drive, drive_with_restart, flat, signature
from tests.unit.factories import T0, make_query
from tests.unit.synth_eval import steps_for

H, D = 3600.0, 86400.0


def feed(days: float, day_gap: float = 10.0, night_gap: float = 600.0, seed: int = 1,
         holes: tuple[tuple[float, float], ...] = ()) -> list[Query]:  # fmt: skip
    """Events every ~day_gap s from 06:00 to 22:00 UTC and every ~night_gap s at night; `holes` are
    (start, end) spans with nothing at all."""
    rng, out, t = random.Random(seed), [], T0
    while t < T0 + days * D:
        hour = (t - T0) % D / H
        gap = day_gap if 6 <= hour < 22 else night_gap
        t += gap * (0.5 + rng.random())
        if not any(a <= t < b for a, b in holes):
            out.append(make_query(ts=t, event_id=f"e{len(out)}"))
    return out


def run(events: list[Query], tail_s: float = 0.0, **params: object) -> list:
    return flat(drive(build(FeedSilence, **params), steps_for(events, tail_s=tail_s)))


# day 0-1: learning        day 2 10:00 [40 min of nothing] 10:40 ... -> one finding, window_start = last event
def test_daytime_outage_fires_once_from_the_last_event() -> None:
    hole = (T0 + 2 * D + 10 * H, T0 + 2 * D + 10 * H + 2400)
    events = feed(3, holes=(hole,))
    found = run(events)
    last_before = max(q.ts for q in events if q.ts < hole[0])
    assert [(f.group_key, f.ori, f.window_start) for f in found] == [("feed", None, last_before)]
    assert found[0].evidence["basis"] == "learned"


def test_normal_quiet_nights_do_not_fire_but_a_long_night_outage_does() -> None:
    assert run(feed(4)) == []
    hole = (T0 + 3 * D + 1 * H, T0 + 3 * D + 4 * H)
    found = run(feed(4, holes=(hole,)))
    assert len(found) == 1 and hole[0] - 1200 <= found[0].window_start < hole[0]


def test_live_idle_clock_and_replay_give_the_same_alert() -> None:
    hole_start = T0 + 2 * D + 10 * H
    before = [q for q in feed(3) if q.ts < hole_start]
    live = run(before, tail_s=3 * H)  # nothing arrives; the wall clock moves the watermark on
    replay = run(feed(3, holes=((hole_start, hole_start + 3 * H),)))  # the feed resumes later
    assert len(live) == 1 and live[0].evidence["still_silent"]
    assert signature(live)[0][0] == signature(replay)[0][0]  # same alert id


def test_warmup_allows_only_long_gaps() -> None:
    p = FeedSilence.params_model()
    short = feed(0.5, holes=((T0 + 7 * H, T0 + 7 * H + 0.5 * p.floor_s * p.warmup_mult),))
    assert run(short) == []
    long = feed(0.5, holes=((T0 + 7 * H, T0 + 7 * H + 2 * p.floor_s * p.warmup_mult),))
    assert [f.evidence["basis"] for f in run(long)] == ["warmup"]


def _with_hole() -> list[Query]:
    return feed(3, holes=((T0 + 2 * D + 10 * H, T0 + 2 * D + 11 * H),))


def test_arrival_order_within_lateness_does_not_change_findings() -> None:
    events = _with_hole()
    rng = random.Random(2)
    shuffled = sorted(events, key=lambda q: q.ts + rng.random() * 250)
    a, b = run(events), run(shuffled)
    assert len(a) == 1 and signature(a) == signature(b)


@pytest.mark.parametrize("cut", [0.5, 0.93])
def test_snapshot_restore_mid_stream_gives_the_same_findings(cut: float) -> None:
    steps = steps_for(_with_hole())
    whole = flat(drive(build(FeedSilence), steps))
    assert whole and signature(whole) == signature(
        drive_with_restart(FeedSilence, steps, int(len(steps) * cut))
    )


def test_finding_is_rederivable_from_evidence() -> None:
    det = build(FeedSilence)
    found = flat(drive(det, steps_for(_with_hole())))
    for f in found:
        ev = f.evidence
        assert ev["observed_value"] == pytest.approx(f.window_end - f.window_start, abs=1e-3)
        assert ev["observed_value"] > ev["threshold"] >= det.p.floor_s
        if ev["basis"] == "warmup":
            rederived = ev["floor_s"] * ev["warmup_mult"]
        else:
            rederived = max(
                ev["floor_s"], ev["k_gap"] * ev["typical_longest_gap_s"], ev["k_rate"] * ev["mean_gap_s"]
            )
        assert ev["threshold"] == pytest.approx(rederived, abs=1e-3)
