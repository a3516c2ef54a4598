"""Emission order, lateness, missing responses and latencies follow the configured tap model."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from stream.simulate.engine import SimConfig
from tests.unit.simulate_support import read_lines, run_to_file


def _t(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    path: Path = tmp_path_factory.mktemp("order") / "o.jsonl"
    cfg = SimConfig(
        seed=8,
        start=datetime(2026, 10, 1, 15, tzinfo=UTC),
        duration_s=2 * 3600,
        scale=0.05,
        late_share=0.01,
        late_max_s=120,
        no_response_share=0.02,
    )
    run_to_file(cfg, path)
    return [orjson.loads(x) for x in read_lines(path)]


def test_emission_is_time_ordered_except_the_late_share(events: list[dict]) -> None:
    newest, late = 0.0, 0
    for e in events:
        t = _t(e["ts"])
        if t < newest:
            late += 1
            assert newest - t <= 120 + 1, "later than --late-max"
        newest = max(newest, t)
    assert 0.002 * len(events) < late < 0.03 * len(events)


def test_some_responses_arrive_before_their_query(events: list[dict]) -> None:
    seen: set[str] = set()
    early = 0
    for e in events:
        if e["schema"] == "dmvq.query.v1":
            seen.add(e["event_id"])
        elif e["in_reply_to"] not in seen:
            early += 1
    assert early > 0


def test_missing_responses_and_latency_model(events: list[dict]) -> None:
    queries = {e["event_id"]: e for e in events if e["schema"] == "dmvq.query.v1"}
    answered = {e["in_reply_to"] for e in events if e["schema"] == "dmvq.response.v1"}
    direct = [q for q in queries.values() if q["destinations"] != ["NL"] and q["message_key"] != "IAQ"]
    missing = sum(q["event_id"] not in answered for q in direct) / len(direct)
    assert 0.015 <= missing <= 0.025  # --no-response-share 0.02
    lat = [
        e["latency_ms"]
        for e in events
        if e["schema"] == "dmvq.response.v1"
        and e["outcome"] not in ("BLOCKED_BY_POLICY", "ACK_ONLY")
        and e["message_key"] != "IAR"
        and not queries.get(e["in_reply_to"], {}).get("parent_query_id")
    ]
    median = statistics.median(lat)
    p95 = statistics.quantiles(lat, n=20)[-1]
    assert 1350 <= median <= 1650 and 5000 <= p95 <= 7000  # brief 7.4: median 1.5 s, p95 6 s
    children = [
        e["latency_ms"]
        for e in events
        if e["schema"] == "dmvq.response.v1" and queries.get(e["in_reply_to"], {}).get("parent_query_id")
    ]
    assert children and max(children) <= 60_000 and statistics.median(children) > median
