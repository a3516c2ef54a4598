"""Fault-test support: a private instance of the local stack, a paced producer, and the invariants.

The services are the real ones, started by `deploy/local/stack` itself, but in a temporary state
directory on free ports (`DMVQ_STACK_DIR`, `*_PORT`): stopping a broker or Redis for 30 seconds here
cannot break the tests other engineers run against the shared stack at the same moment.

`check_invariants` states what must hold after every fault: alert set = replay's, no alert created
twice, dead letters = injected bad lines, committed Kafka offset <= Redis checkpoint, monthly
aggregates = replay's.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import redis
from confluent_kafka import Consumer, Producer, TopicPartition

from stream.replay import ReplayResult
from tests.integration import runtime_harness as h

STACK = h.ROOT / "deploy" / "local" / "stack"


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class PrivateStack:
    """Kafka, Redis and Alertmanager of `deploy/local/stack`, isolated in `state_dir`."""

    def __init__(self, state_dir: Path) -> None:
        kafka, controller, redis_port, am = free_ports(4)
        self.state_dir = state_dir
        self.env = {
            **os.environ,
            "DMVQ_STACK_DIR": str(state_dir),
            "KAFKA_PORT": str(kafka),
            "KAFKA_CONTROLLER_PORT": str(controller),
            "REDIS_PORT": str(redis_port),
            "ALERTMANAGER_PORT": str(am),
            "KAFKA_HEAP_OPTS": "-Xms128m -Xmx512m",
        }
        self.bootstrap = f"127.0.0.1:{kafka}"
        self.redis_port = redis_port
        self.alertmanager_url = f"http://127.0.0.1:{am}"

    def redis_url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/{db}"

    def _stack(self, cmd: str, *services: str) -> None:
        done = subprocess.run(
            [str(STACK), cmd, *services], env=self.env, capture_output=True, text=True, timeout=240
        )
        if done.returncode != 0:
            raise RuntimeError(f"stack {cmd} {' '.join(services)}: {done.stdout}{done.stderr}")

    def up(self, *services: str) -> float:
        """Start services and wait until healthy; returns the monotonic time they answered."""
        try:
            self._stack("up", *services)
        except RuntimeError:
            # redis-server rewrites the PID file the script polls while starting: a read of the
            # truncated file looks like an exit. The process is up; ask once more.
            self._stack("up", *services)
        return time.monotonic()

    def down(self, *services: str) -> None:
        self._stack("down", *services)

    def aof_dir(self) -> Path:
        return self.state_dir / ".data" / "redis"


class PacedProducer(threading.Thread):
    """Produces `lines` at `rate` per second in the background; survives a broker outage (librdkafka
    buffers and retries, idempotence keeps the order)."""

    def __init__(self, bootstrap: str, topic: str, lines: list[bytes], rate: float) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.lines, self.rate = bootstrap, topic, lines, rate
        self.produced = 0
        self.undelivered = -1

    def run(self) -> None:
        producer = Producer(
            {
                "bootstrap.servers": self.bootstrap,
                "linger.ms": 5,
                "enable.idempotence": True,
                "message.timeout.ms": 180_000,
            }
        )
        started = time.monotonic()
        for i, line in enumerate(self.lines):
            producer.produce(self.topic, value=line, partition=0)
            self.produced = i + 1
            producer.poll(0)
            ahead = (i + 1) / self.rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
        self.undelivered = producer.flush(180)


replay_oracle = h.replay_result  # the oracle of every fault test: replay with monthly aggregates


def dead_letter_offsets(bootstrap: str, dlq_topic: str, timeout_s: float = 10) -> set[str]:
    """Distinct `dlq.source.offset` headers (a re-sent dead letter after a restart counts once)."""
    letters = h.dead_letters(bootstrap, dlq_topic, timeout_s)
    assert all(d.get("dlq.error.class") for d in letters), "dead letter without a reason header"
    return {d["dlq.source.offset"] for d in letters}


def committed_within_checkpoints(
    bootstrap: str, client: redis.Redis, group: str, topic: str, parts: int
) -> None:
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        committed = probe.committed([TopicPartition(topic, p) for p in range(parts)], timeout=10)
    finally:
        probe.close()
    for tp in committed:
        saved = client.hget(f"dmvq:ckpt:{group}:{topic}:{tp.partition}", "offset")
        assert saved is not None, f"no checkpoint for {topic}[{tp.partition}]"
        assert tp.offset <= int(saved), f"{topic}[{tp.partition}] committed {tp.offset} > checkpoint {saved}"


def redis_aggregates(client: redis.Redis) -> dict[str, dict[str, int]]:
    months = sorted(m.decode() for m in client.smembers("dmvq:agg:months"))
    return {m: {k.decode(): int(v) for k, v in client.hgetall(f"dmvq:agg:{m}").items()} for m in months}


def check_invariants(
    bootstrap: str, client: redis.Redis, group: str, topic: str, expected: ReplayResult, n_bad: int
) -> None:
    ids = h.alert_ids(client)
    assert len(ids) == len(set(ids)), "an alert was created twice"
    want = set(expected.alerts)
    assert set(ids) == want, h.describe_diff(set(ids), want, client)
    assert len(dead_letter_offsets(bootstrap, f"{topic}.dlq")) == n_bad
    committed_within_checkpoints(bootstrap, client, group, topic, 1)
    got, want_agg = redis_aggregates(client), {m: dict(v) for m, v in expected.aggregates.items() if v}
    diff = {
        (m, k): (got.get(m, {}).get(k), want_agg.get(m, {}).get(k))
        for m in set(got) | set(want_agg)
        for k in set(got.get(m, {})) | set(want_agg.get(m, {}))
        if got.get(m, {}).get(k) != want_agg.get(m, {}).get(k)
    }
    assert not diff, (
        f"monthly aggregates differ from replay's (live, replay): {dict(list(diff.items())[:10])}"
    )


def wait_checkpoint(
    client: redis.Redis,
    group: str,
    topic: str,
    at_least: int,
    procs: list[subprocess.Popen[bytes]],
    timeout_s: float = 60,
) -> None:
    """Until the worker has checkpointed `at_least` messages of partition 0 (it is in steady state)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert all(p.poll() is None for p in procs), "worker exited"
        saved = client.hget(f"dmvq:ckpt:{group}:{topic}:0", "offset")
        if saved is not None and int(saved) >= at_least:
            return
        time.sleep(0.1)
    raise TimeoutError(f"no checkpoint at {at_least} within {timeout_s}s")


def seconds_until_drained(
    bootstrap: str,
    client: redis.Redis,
    group: str,
    topic: str,
    procs: list[subprocess.Popen[bytes]],
    since: float,
    timeout_s: float = 120,
) -> float:
    """Wait until every checkpoint reached the end of its partition; seconds elapsed since `since`."""
    h.wait_drained(bootstrap, client, group, topic, procs, timeout_s=timeout_s)
    return time.monotonic() - since
