"""10,000 hostile messages (hypothesis, see tests/unit/hostile.py) plus 1 MB messages and duplicated
event ids, interleaved with good events, through a real worker: it never crashes, every bad message
reaches the dead-letter topic with a reason header, and the partition never stalls for more than a
second (its checkpoint keeps advancing while good events flow)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import redis
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream.agencies import AgencyRegistry
from stream.decode import DLQ_REASONS, Decoder
from stream.errors import DecodeError
from stream.pseudonymize import Pseudonymizer
from tests.integration import faults as f
from tests.integration import runtime_harness as h
from tests.integration.traffic import build
from tests.unit.hostile import hostile_message

MB = 1024 * 1024


def _hostile(n: int) -> list[bytes]:
    out: list[bytes] = []

    @settings(max_examples=n // 20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(hostile_message(), min_size=20, max_size=20))
    def collect(msgs: list[bytes]) -> None:
        out.extend(msgs)

    collect()
    return out


def _big_topics(bootstrap: str, name: str) -> None:
    """The input and dead-letter topics accept 2 MB messages (the broker default is 1 MB)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    cfg = {"max.message.bytes": str(2 * MB)}
    topics = [NewTopic(name, 1, 1, config=cfg), NewTopic(f"{name}.dlq", 1, 1, config=cfg)]
    for fut in admin.create_topics(topics, request_timeout=30).values():
        fut.result(timeout=30)
    time.sleep(1)


def _watch_progress(client: redis.Redis, key: str, stop: threading.Event, gaps: list[float]) -> None:
    last, since = None, time.monotonic()
    while not stop.is_set():
        now, saved = time.monotonic(), client.hget(key, "offset")
        if saved != last:
            if last is not None:
                gaps.append(now - since)
            last, since = saved, now
        time.sleep(0.05)


def test_hostile_messages_are_dead_lettered_and_good_events_keep_flowing(
    kafka_bootstrap: str,
    redis_url: str,
    redis_client: redis.Redis,
    new_topic: Callable[..., str],
    unique_group: str,
    tmp_path: Path,
) -> None:
    hostile = _hostile(10_000)
    hostile += [b'{"schema":"dmvq.query.v1","pad":"' + b"A" * MB + b'"}', b"\xff" * MB]
    assert len(hostile) >= 10_000
    good, _ = build(seed=61, hours=2, per_hour=600)
    good = [x for x in good if x.startswith(b'{"schema"') and b'"ts"' in x]
    decoder = Decoder(Pseudonymizer(b"x" * 16), AgencyRegistry(), max_future_s=600)
    bad = []  # the oracle of what must be dead-lettered: the same decoder as the worker, offline
    for raw in hostile:
        try:
            decoder.decode(raw, time.time())
        except DecodeError:
            bad.append(raw)
    lines: list[bytes] = []
    step = max(1, len(hostile) // len(good))
    for i, raw in enumerate(hostile):
        lines.append(raw)
        if i % step == 0 and i // step < len(good):
            lines.append(good[i // step])
    lines += good[len(hostile) // step + 1 :]
    lines += good[:200]  # duplicated event ids: dropped by dedup, not dead-lettered

    topic = f"test.hostile.{unique_group}"
    _big_topics(kafka_bootstrap, topic)
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "message.max.bytes": 2 * MB + 4096})
    for raw in lines:
        producer.produce(topic, value=raw)
        producer.poll(0)
    assert producer.flush(60) == 0
    env = h.worker_env(kafka_bootstrap, redis_url, topic, unique_group)
    procs = [h.start_worker(env, tmp_path / "w.log")]
    stop, gaps = threading.Event(), []
    watcher = threading.Thread(
        target=_watch_progress, args=(redis_client, f"dmvq:ckpt:{unique_group}:{topic}:0", stop, gaps)
    )
    watcher.start()
    try:
        h.wait_drained(kafka_bootstrap, redis_client, unique_group, topic, procs, timeout_s=240)
    finally:
        stop.set()
        watcher.join()
        h.stop(procs)
        AdminClient({"bootstrap.servers": kafka_bootstrap}).delete_topics([topic, f"{topic}.dlq"])
    assert procs[0].returncode == 0, (tmp_path / "w.log").read_text()[-2000:]
    offsets = f.dead_letter_offsets(kafka_bootstrap, f"{topic}.dlq", timeout_s=60)
    assert len(offsets) == len(bad), f"{len(offsets)} dead letters for {len(bad)} bad messages"
    assert gaps and max(gaps) <= 1.0 + 0.3, f"the partition stalled {max(gaps):.2f}s"
    assert set(DLQ_REASONS) >= {"too_large", "invalid_utf8", "invalid_json", "schema_violation"}
