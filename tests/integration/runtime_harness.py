"""Drives real `dmvwatch run` processes against the local Kafka and Redis, and an in-process oracle.

The oracle is `replay` (stream.replay.Replayer) over the same lines: the live worker must end with
exactly its alert set.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redis
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from stream.aggregates import MonthlyAggregator
from stream.app import build_core
from stream.replay import Replayer, ReplayResult
from stream.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def produce(
    bootstrap: str, topic: str, lines: list[bytes], partitions: int = 1, rate: float | None = None
) -> None:
    """Round-robin over partitions (a tap keyed by nothing); `rate` paces it like a live feed."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 10, "enable.idempotence": True})
    started = time.monotonic()
    for i, line in enumerate(lines):
        producer.produce(topic, value=line, partition=i % partitions)
        if i % 100 == 0:
            producer.poll(0)
            if rate:
                ahead = i / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
    assert producer.flush(30) == 0


def worker_env(bootstrap: str, redis_url: str, topic: str, group: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DMVWATCH_")}
    env.update(
        {
            "DMVWATCH_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "DMVWATCH_KAFKA__INPUT_TOPICS": f'["{topic}"]',
            "DMVWATCH_KAFKA__GROUP_ID": group,
            "DMVWATCH_KAFKA__INTERNAL_PARTITIONS": "3",
            "DMVWATCH_REDIS__URL": redis_url,
            "DMVWATCH_METRICS__PORT": "0",
            "DMVWATCH_RUNTIME__CHECKPOINT_INTERVAL_S": "0.3",
            "DMVWATCH_RUNTIME__CHECKPOINT_COST_BUDGET": "1",  # checkpoint often: crash points to hit
            "DMVWATCH_RUNTIME__IDLE_CLOSE_S": "86400",  # event time must not follow the wall clock here
            "DMVWATCH_LOG_LEVEL": "WARNING",
        }
    )
    env.update(extra)
    return env


def dead_letters(
    bootstrap: str, topic: str, timeout_s: float = 30, quiet_s: float = 3
) -> list[dict[str, Any]]:
    """Every dead letter on `topic` as its headers plus `value`, read until none came for `quiet_s`."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"dlq-check-{time.time_ns()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    got: list[dict[str, str]] = []
    deadline, quiet_until = time.monotonic() + timeout_s, time.monotonic() + quiet_s
    while time.monotonic() < min(deadline, quiet_until):
        msg = consumer.poll(0.3)
        if msg is None or msg.error() is not None:
            continue
        got.append({k: v.decode() for k, v in (msg.headers() or [])} | {"value": msg.value()})
        quiet_until = time.monotonic() + quiet_s
    consumer.close()
    return got


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "stream", "run", "--no-notify"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def topics_of(admin: AdminClient, base: str) -> dict[str, int]:
    meta = admin.list_topics(timeout=10).topics
    names = [base] + [f"{base}.{s}" for s in ("by-query", "by-agency", "by-subject", "by-state")]
    return {n: len(meta[n].partitions) for n in names if n in meta}


def wait_drained(
    bootstrap: str,
    client: redis.Redis,
    group: str,
    base: str,
    procs: list[subprocess.Popen[bytes]],
    timeout_s: float = 120,
) -> None:
    """Until every partition's checkpoint (in Redis) has reached the end of its topic."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{group}-probe"})
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            for p in procs:
                assert p.poll() is None, f"worker exited with {p.returncode}"
            if _all_caught_up(admin, probe, client, group, base):
                time.sleep(1.0)  # a last internal hop may still be in flight: confirm once more
                if _all_caught_up(admin, probe, client, group, base):
                    return
            time.sleep(0.3)
        raise TimeoutError(f"workers did not drain {base} within {timeout_s}s")
    finally:
        probe.close()


def _all_caught_up(admin: AdminClient, probe: Consumer, client: redis.Redis, group: str, base: str) -> bool:
    for topic, parts in topics_of(admin, base).items():
        for part in range(parts):
            try:
                _, high = probe.get_watermark_offsets(TopicPartition(topic, part), timeout=5)
            except KafkaException:  # a just-created internal topic without a leader yet
                return False
            saved = client.hget(f"dmvq:ckpt:{group}:{topic}:{part}", "offset")
            if high != (int(saved) if saved is not None else 0):
                return False
    return True


def stop(procs: list[subprocess.Popen[bytes]], sig: int = signal.SIGTERM) -> None:
    """Stop workers; never leave one behind (SIGKILL after 60 s)."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(sig)
    for p in procs:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)


def alert_ids(client: redis.Redis) -> list[str]:
    """Ids in the alert stream (one entry per newly created alert: duplicates would show here)."""
    return [fields[b"alert_id"].decode() for _, fields in client.xrange("dmvq:alerts")]


def run_until_drained(
    env: dict[str, str], bootstrap: str, client: redis.Redis, group: str, topic: str, log: Path
) -> subprocess.Popen[bytes]:
    """One worker with `env`, until every partition is checkpointed at its end; then SIGTERM."""
    proc = start_worker(env, log)
    try:
        wait_drained(bootstrap, client, group, topic, [proc])
    finally:
        stop([proc])
    return proc


def describe_diff(got: set[str], expected: set[str], client: redis.Redis) -> str:
    """Missing and unexpected alerts by detector, for a readable assertion message."""
    from collections import Counter

    extra = Counter((client.hget(f"dmvq:alert:{i}", "detector") or b"?").decode() for i in got - expected)
    return f"missing {len(expected - got)}, unexpected by detector {dict(extra)}"


def replay_result(lines: list[bytes], env: dict[str, str] | None = None) -> ReplayResult:
    """`replay` over `lines` (alerts, dead letters, monthly aggregates) with the runtime settings of the
    workers' `env` and none of the caller's own DMVWATCH_ variables."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("DMVWATCH_")}
    for k in saved:
        os.environ.pop(k)
    os.environ.update({k: v for k, v in (env or {}).items() if k.startswith("DMVWATCH_RUNTIME__")})
    try:
        core = build_core(load_settings(), live=False)
    finally:
        for k in [k for k in os.environ if k.startswith("DMVWATCH_")]:
            os.environ.pop(k)
        os.environ.update(saved)
    replayer = Replayer(core, MonthlyAggregator())
    for line in lines:
        replayer.feed(line)
    replayer.finish()
    return replayer.result


def oracle(lines: list[bytes], env: dict[str, str] | None = None) -> set[str]:
    """Alert ids of `replay` over `lines`, with the DMVWATCH_ settings of `env` (as the workers)."""
    return set(replay_result(lines, env).alerts)
