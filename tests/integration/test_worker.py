"""The live worker on the real local Kafka and Redis: dead letters, crash recovery, scale-out,
and equality with `replay`."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from tests.integration import runtime_harness as h
from tests.integration.traffic import build

SAMPLES = h.ROOT / "tests" / "fixtures" / "samples" / "events.jsonl"  # copy of ../shared/samples


def test_shared_samples_bad_lines_reach_the_dlq_and_good_events_are_processed(
    kafka_bootstrap: str,
    redis_url: str,
    redis_client: redis.Redis,
    new_topic: Callable[..., str],
    unique_group: str,
    tmp_path: Path,
) -> None:
    topic = new_topic(1)
    lines = SAMPLES.read_bytes().splitlines()
    h.produce(kafka_bootstrap, topic, lines)
    env = h.worker_env(kafka_bootstrap, redis_url, topic, unique_group)
    proc = h.run_until_drained(env, kafka_bootstrap, redis_client, unique_group, topic, tmp_path / "w.log")
    dlq = h.dead_letters(kafka_bootstrap, f"{topic}.dlq")
    assert sorted(d["dlq.error.class"] for d in dlq) == ["invalid_json", "schema_violation"]
    assert {d["dlq.source.topic"] for d in dlq} == {topic}
    assert sorted(int(d["dlq.source.offset"]) for d in dlq) == [10, 11]
    assert dlq[0]["value"] in lines  # original bytes kept, so a fixed parser can replay them
    # every good event processed: 7 queries (the NL family counts each delivered event per destination)
    agg = {k.decode(): int(v) for k, v in redis_client.hgetall("dmvq:agg:2026-10").items()}
    assert sum(v for k, v in agg.items() if k.startswith("a|")) == 7
    assert sum(v for k, v in agg.items() if k.startswith("o|")) == 3  # the three responses
    assert sum(v for k, v in agg.items() if k.startswith("l|")) == 6  # logical queries: family once
    assert proc.returncode == 0  # SIGTERM: graceful


def test_replay_and_run_give_identical_alert_sets(
    kafka_bootstrap: str,
    redis_url: str,
    redis_client: redis.Redis,
    new_topic: Callable[..., str],
    unique_group: str,
    tmp_path: Path,
) -> None:
    lines, _ = build(seed=11)
    expected = h.oracle(lines)
    assert len(expected) >= 10
    topic = new_topic(1)
    h.produce(kafka_bootstrap, topic, lines)
    env = h.worker_env(kafka_bootstrap, redis_url, topic, unique_group)
    h.run_until_drained(env, kafka_bootstrap, redis_client, unique_group, topic, tmp_path / "w.log")
    ids = h.alert_ids(redis_client)
    assert len(ids) == len(set(ids))
    assert set(ids) == expected


@pytest.mark.parametrize(
    "failpoint",
    [
        "after_alert_write:2",
        "during_checkpoint:2",
        "after_checkpoint_write:2",
        "after_alert_write:4",
        "during_checkpoint:3",
    ],
)
def test_sigkill_and_restart_ends_with_the_uninterrupted_alert_set(
    failpoint: str,
    kafka_bootstrap: str,
    redis_url: str,
    redis_client: redis.Redis,
    new_topic: Callable[..., str],
    unique_group: str,
    tmp_path: Path,
) -> None:
    lines, n_bad = build(seed=23)
    expected = h.oracle(lines)
    topic = new_topic(1)
    env = h.worker_env(
        kafka_bootstrap,
        redis_url,
        topic,
        unique_group,
        DMVWATCH_FAILPOINT=failpoint,
        DMVWATCH_KAFKA__BATCH_SIZE="200",
    )
    first = h.start_worker(env, tmp_path / "w.log")
    try:
        h.produce(kafka_bootstrap, topic, lines)
        assert first.wait(timeout=120) == -signal.SIGKILL  # the failpoint fired mid-stream
    finally:
        h.stop([first], signal.SIGKILL)
    env.pop("DMVWATCH_FAILPOINT")
    h.run_until_drained(env, kafka_bootstrap, redis_client, unique_group, topic, tmp_path / "w.log")
    ids = h.alert_ids(redis_client)
    assert len(ids) == len(set(ids)), "an alert was created twice"
    assert set(ids) == expected
    dlq = h.dead_letters(kafka_bootstrap, f"{topic}.dlq")
    assert len({d["dlq.source.offset"] for d in dlq}) == n_bad  # re-sent dead letters keep their source


def _simulated_day(tmp_path: Path) -> list[bytes]:
    """A small simulated day with the demo scenarios (every detector family gets traffic)."""
    out = tmp_path / "day.jsonl"
    subprocess.run(
        [
            sys.executable, "-m", "stream", "simulate", "--out", str(out), "--duration", "1d",
            "--scale", "0.01", "--seed", "5", "--enrich", "--quiet",
            "--scenarios", str(h.ROOT / "deploy" / "scenarios" / "demo.yaml"),
        ],
        cwd=h.ROOT, check=True,
    )  # fmt: skip
    return out.read_bytes().splitlines()


def test_one_worker_and_three_workers_give_identical_alert_sets(
    kafka_bootstrap: str,
    redis_url: str,
    redis_client: redis.Redis,
    new_topic: Callable[..., str],
    unique_group: str,
    tmp_path: Path,
) -> None:
    """Input on 3 partitions keyed by nothing, fed like a live tap (paced), repartitioned by agency,
    subject and state: the same alerts with one worker and with three.

    Several input partitions only agree on event time as far as they progress together, so the feed
    is paced and the allowed lateness covers the skew between partitions (the simulated day is
    compressed about 6,000 times here; a live tap is not compressed at all).
    """
    lines = _simulated_day(tmp_path)
    results = []
    for n_workers in (1, 3):
        topic = new_topic(3)
        group = f"{unique_group}-{n_workers}"
        redis_client.flushdb()
        env = h.worker_env(
            kafka_bootstrap,
            redis_url,
            topic,
            group,
            DMVWATCH_KAFKA__REPARTITION="on",
            DMVWATCH_RUNTIME__ALLOWED_LATENESS_S="14400",
        )
        procs = [h.start_worker(env, tmp_path / f"w{n_workers}.log") for _ in range(n_workers)]
        try:
            time.sleep(6)  # let the group form before the feed starts
            # ~1,000 events/s is about an hour and a half of this day's event time per second: skew
            # between partitions stays well inside the 4 h lateness
            h.produce(kafka_bootstrap, topic, lines, partitions=3, rate=1000)
            h.wait_drained(kafka_bootstrap, redis_client, group, topic, procs, timeout_s=240)
        finally:
            h.stop(procs)
        ids = h.alert_ids(redis_client)
        assert len(ids) == len(set(ids))
        detectors = {(redis_client.hget(f"dmvq:alert:{i}", "detector") or b"").decode() for i in ids}
        results.append((set(ids), detectors))
    (one, kinds), (three, _) = results
    assert one == three, h.describe_diff(three, one, redis_client)
    # the scenarios reach the agency, subject and state hops (the day is too short for feed_silence to
    # learn the feed's gaps: it stays quiet, in the join hop, rather than firing per sparse partition)
    assert {"policy_violation", "subject_focus", "agency_substitution"} <= kinds, kinds
    assert "feed_silence" not in kinds
