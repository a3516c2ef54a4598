"""Service faults under a live worker: Kafka broker restart, Redis down 30 s, out-of-order and late input.

Each test runs real `dmvwatch run` processes on a private instance of the local stack (see
`faults.PrivateStack`), injects the fault mid-stream, and then checks the invariants of
`faults.check_invariants` against `replay` over the same input, plus recovery to lag 0 within 30 s of
the service's return.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import redis
from confluent_kafka.admin import AdminClient, NewTopic

from tests.integration import faults as f
from tests.integration import runtime_harness as h
from tests.integration.traffic import build

RECOVERY_S = 30.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[f.PrivateStack]:
    s = f.PrivateStack(tmp_path_factory.mktemp("stack"))
    try:
        s.up("kafka", "redis")
        yield s
    finally:
        s.down("kafka", "redis")


def _topic(stack: f.PrivateStack, name: str) -> str:
    admin = AdminClient({"bootstrap.servers": stack.bootstrap})
    admin.create_topics([NewTopic(name, 1, 1)], request_timeout=30)[name].result(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        meta = admin.list_topics(topic=name, timeout=5).topics.get(name)
        if meta is not None and meta.error is None and all(p.leader >= 0 for p in meta.partitions.values()):
            return name
        time.sleep(0.2)
    raise TimeoutError(name)


def _client(stack: f.PrivateStack, db: int) -> redis.Redis:
    client = redis.Redis.from_url(stack.redis_url(db))
    client.flushdb()
    return client


def test_kafka_broker_restart_mid_stream(stack: f.PrivateStack, tmp_path: Path) -> None:
    lines, n_bad = build(seed=41, hours=3)
    expected = f.replay_oracle(lines)
    assert len(expected.alerts) >= 10
    topic, group = _topic(stack, "fault.kafka"), "fault-kafka"
    client = _client(stack, 1)
    env = h.worker_env(stack.bootstrap, stack.redis_url(1), topic, group)
    procs = [h.start_worker(env, tmp_path / "w.log")]
    warm, rest = lines[:600], lines[600:]
    producer = f.PacedProducer(stack.bootstrap, topic, rest, rate=200)
    try:
        h.produce(stack.bootstrap, topic, warm)
        h.wait_drained(stack.bootstrap, client, group, topic, procs)  # steady state before the fault
        producer.start()
        time.sleep(2)
        assert 0 < producer.produced < len(rest), "the restart must hit mid-stream"
        stack.down("kafka")
        time.sleep(2)
        back = stack.up("kafka")
        producer.join(timeout=180)
        assert producer.undelivered == 0
        took = f.seconds_until_drained(stack.bootstrap, client, group, topic, procs, since=back)
    finally:
        stack.up("kafka")  # whatever happened above, the broker is running for the next test
        h.stop(procs)
    assert procs[0].returncode == 0, (tmp_path / "w.log").read_text()[-3000:]
    assert took <= RECOVERY_S, f"lag 0 only {took:.1f}s after the broker returned"
    f.check_invariants(stack.bootstrap, client, group, topic, expected, n_bad)


def test_redis_down_30s_while_alerts_are_raised(stack: f.PrivateStack, tmp_path: Path) -> None:
    lines, n_bad = build(seed=43, hours=3)
    expected = f.replay_oracle(lines)
    topic, group = _topic(stack, "fault.redis"), "fault-redis"
    client = _client(stack, 2)
    env = h.worker_env(stack.bootstrap, stack.redis_url(2), topic, group)
    procs = [h.start_worker(env, tmp_path / "w.log")]
    producer = f.PacedProducer(stack.bootstrap, topic, lines, rate=200)
    try:
        producer.start()
        deadline = time.monotonic() + 30
        while not client.exists("dmvq:alerts") and time.monotonic() < deadline:
            time.sleep(0.2)
        before = set(h.alert_ids(client))
        assert before, "no alert raised before the outage"
        stack.down("redis")
        time.sleep(30)
        assert procs[0].poll() is None, "the worker died while Redis was down"
        back = stack.up("redis")
        producer.join(timeout=120)
        assert producer.undelivered == 0
        took = f.seconds_until_drained(stack.bootstrap, client, group, topic, procs, since=back)
    finally:
        stack.up("redis")
        h.stop(procs)
    log = (tmp_path / "w.log").read_text()
    assert "pausing" in log, "the worker never paused its partitions"
    assert before <= set(h.alert_ids(client)), "alerts written before the restart were lost (AOF)"
    assert took <= RECOVERY_S, f"lag 0 only {took:.1f}s after Redis returned"
    f.check_invariants(stack.bootstrap, client, group, topic, expected, n_bad)


def test_redis_outage_seen_by_a_checkpoint_also_resumes(stack: f.PrivateStack, tmp_path: Path) -> None:
    """Benign traffic only: no alert write notices the outage, a checkpoint does (and pauses)."""
    lines = [x for x in build(seed=45, hours=2)[0] if b"XXSYNICE" not in x and b'"dmvq.query.v1"' in x]
    lines = [x for x in lines if b'"ts"' in x]  # police-department queries only: nothing to alert on
    expected = f.replay_oracle(lines)
    assert not expected.alerts
    topic, group = _topic(stack, "fault.redis-ckpt"), "fault-redis-ckpt"
    client = _client(stack, 4)
    env = h.worker_env(stack.bootstrap, stack.redis_url(4), topic, group)
    procs = [h.start_worker(env, tmp_path / "w.log")]
    producer = f.PacedProducer(stack.bootstrap, topic, lines[300:], rate=150)
    try:
        h.produce(stack.bootstrap, topic, lines[:300])
        h.wait_drained(stack.bootstrap, client, group, topic, procs)
        producer.start()
        time.sleep(1)
        stack.down("redis")
        time.sleep(5)
        back = stack.up("redis")
        producer.join(timeout=120)
        took = f.seconds_until_drained(stack.bootstrap, client, group, topic, procs, since=back, timeout_s=60)
    finally:
        stack.up("redis")
        h.stop(procs)
    assert "pausing" in (tmp_path / "w.log").read_text()
    assert took <= RECOVERY_S
    f.check_invariants(stack.bootstrap, client, group, topic, expected, 0)


def _shuffle_within(
    lines: list[bytes], seed: int, jitter_s: float, n_late: int, late_by_s: float
) -> tuple[list[bytes], int]:
    """Arrival order = event time + U(0, jitter_s) (out of order by minutes, within the lateness), then
    `n_late` queries held back until `late_by_s` of event time later (beyond the allowed lateness)."""
    rng = random.Random(seed)
    good = [(orjson.loads(x), x) for x in lines if x.startswith(b'{"schema"') and b'"ts"' in x]
    bad = [x for x in lines if not (x.startswith(b'{"schema"') and b'"ts"' in x)]
    keyed = []
    for doc, raw in good:
        ts = h_ts(doc["ts"])
        keyed.append((ts + rng.uniform(0, jitter_s), raw))
    queries = [i for i, (_, raw) in enumerate(keyed) if b'"dmvq.query.v1"' in raw]
    late_idx = set(rng.sample(queries[len(queries) // 4 : len(queries) // 2], n_late))
    keyed = [(k + late_by_s, raw) if i in late_idx else (k, raw) for i, (k, raw) in enumerate(keyed)]
    keyed.sort(key=lambda p: p[0])
    out = [raw for _, raw in keyed]
    for i, b in enumerate(bad):
        out.insert(len(out) * (i + 1) // (len(bad) + 1), b)
    return out, n_late


def h_ts(text: str) -> float:
    from stream.decode import parse_ts

    return parse_ts(text)


def test_out_of_order_by_minutes_and_late_events_match_replay(stack: f.PrivateStack, tmp_path: Path) -> None:
    ordered, n_bad = build(seed=47, hours=3)
    lines, n_late = _shuffle_within(ordered, seed=5, jitter_s=240, n_late=25, late_by_s=1800)
    expected = f.replay_oracle(lines)
    assert expected.late == n_late  # jitter < allowed lateness (300 s): only the held-back ones are late
    jittered_only, _ = _shuffle_within(ordered, seed=5, jitter_s=240, n_late=0, late_by_s=0)
    assert set(f.replay_oracle(jittered_only).alerts) == set(f.replay_oracle(ordered).alerts), (
        "arrival order within the allowed lateness changed the alert set"
    )
    topic, group = _topic(stack, "fault.order"), "fault-order"
    client = _client(stack, 3)
    port = f.free_ports(1)[0]
    env = h.worker_env(stack.bootstrap, stack.redis_url(3), topic, group, DMVWATCH_METRICS__PORT=str(port))
    procs = [h.start_worker(env, tmp_path / "w.log")]
    try:
        h.produce(stack.bootstrap, topic, lines)
        h.wait_drained(stack.bootstrap, client, group, topic, procs)
        scrape = _scrape(port)
    finally:
        h.stop(procs)
    assert _metric_sum(scrape, "dmvwatch_late_events_total") == n_late
    f.check_invariants(stack.bootstrap, client, group, topic, expected, n_bad)


def _scrape(port: int) -> str:
    import httpx

    return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text


def _metric_sum(text: str, name: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") or line.startswith(name + " ")
    )
