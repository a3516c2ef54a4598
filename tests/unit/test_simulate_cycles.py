"""Weekly cycle (brief 7.4): on a weekend, patrol traffic runs at ~0.9x a weekday and federal
investigative traffic at ~0.4x. Each window covers a whole LOCAL day in every US zone."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from stream.simulate.engine import SimConfig, Simulation


def _by_profile(start: datetime) -> Counter[str]:
    sim = Simulation(SimConfig(seed=2, start=start, duration_s=86_400, scale=0.03, agencies=6000))
    profile = {a.ori: a.profile for a in sim.registry}
    counts: Counter[str] = Counter()
    for lines in sim.run():
        for line in lines:
            if line.startswith(b'{"schema":"dmvq.query.v1"') and b'"parent_query_id"' not in line:
                ori = line.split(b'"originating_ori":"', 1)[1][:9].decode()
                counts[profile[ori]] += 1
    return counts


def test_weekend_factors_per_profile() -> None:
    # 10:00Z to 10:00Z next day = local 00:00-06:00 start in every zone from Hawaii to Eastern
    thursday = _by_profile(datetime(2026, 10, 1, 10, tzinfo=UTC))
    saturday = _by_profile(datetime(2026, 10, 3, 10, tzinfo=UTC))
    assert 0.86 <= saturday["patrol"] / thursday["patrol"] <= 0.94
    assert 0.32 <= saturday["fed_inv"] / thursday["fed_inv"] <= 0.48
    assert saturday["dmv"] < 0.2 * thursday["dmv"]  # DMV counters (S2S) mostly closed
