"""blocked_retry, slow probing: a couple of blocked retries an hour all day never fills an hour, but the
aligned day does; a day whose hours already fired is not reported twice. (Found by `make eval`: the
simulator's slow-retry variant, 25 retries over 12 h, was missed.)"""

from __future__ import annotations

from stream.detectors.blocked_retry import BlockedRetry
from tests.unit.detector_steps import build, drive, drive_with_restart, flat, signature
from tests.unit.factories import T0, ice_agency, make_query, make_response

H, DAY = 3600.0, 86400.0
ICE = ice_agency("XXSYN0001")
ERO = ice_agency("XXSYN0002")


def blocked_at(hours: list[float], agency=ICE, tag: str = "b"):  # type: ignore[no-untyped-def]
    out = []
    for i, h in enumerate(hours):
        q = make_query(event_id=f"{tag}q{i}", ts=T0 + h * H, agency=agency)
        out.append(("r", make_response(q, event_id=f"{tag}r{i}", outcome="BLOCKED_BY_POLICY"), q))
    return out


# day D = [T0, T0+24h)
#   ICE: 2 blocks an hour at 08:10, 08:40, 09:10 ... (12 over 6 h): no hour reaches 5, the day reaches 12
#   ERO: 6 blocks in 10:00-10:59 (hourly fires) + 6 spread later: the day is not reported again
#   XXSYN0003-like noise: 9 spread blocks on ICE the next day: under the day's 10
SLOW = blocked_at([8 + k * 0.5 + 1 / 6 for k in range(12)])
BURST = blocked_at([10 + k / 10 for k in range(6)] + [14 + k for k in range(6)], ERO, tag="e")
NEXT = blocked_at([24 + 8 + k for k in range(9)], tag="n")
STEPS = [*SLOW, *BURST, ("wm", T0 + 12 * H), ("wm", T0 + DAY), *NEXT, ("wm", T0 + 2 * DAY)]


def test_slow_day_fires_once_at_day_close_and_a_fired_day_does_not_repeat() -> None:
    found = flat(drive(build(BlockedRetry), STEPS))
    by = sorted((f.ori, f.group_key, f.window_start, f.evidence["count"]) for f in found)
    assert by == [
        ("XXSYN0001", "XXSYN0001|day", T0, 12),
        ("XXSYN0002", "XXSYN0002", T0 + 10 * H, 6),
    ]
    day = next(f for f in found if f.group_key.endswith("|day"))
    assert day.evidence["window_s"] == DAY and day.evidence["threshold"] == 10


def test_day_threshold_is_a_parameter() -> None:
    found = flat(drive(build(BlockedRetry, day_min_count=13), STEPS))
    assert [f.group_key for f in found] == ["XXSYN0002"]


def test_restart_and_arrival_order_keep_the_same_alerts() -> None:
    straight = flat(drive(build(BlockedRetry), STEPS))
    for at in (5, len(SLOW) + len(BURST) + 1, len(STEPS) - 2):
        assert signature(drive_with_restart(BlockedRetry, STEPS, at)) == signature(straight)
    shuffled = [*reversed(BURST), *reversed(SLOW), *STEPS[len(SLOW) + len(BURST) :]]
    assert signature(flat(drive(build(BlockedRetry), shuffled))) == signature(straight)
