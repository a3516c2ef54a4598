"""Shared plumbing of the benchmark: the local services, topics, filling a topic from a file."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / ".work"
BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def run_id() -> str:
    return uuid.uuid4().hex[:8]


def create_topic(name: str, partitions: int) -> str:
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        meta = admin.list_topics(topic=name, timeout=5).topics.get(name)
        if meta and meta.error is None and all(p.leader >= 0 for p in meta.partitions.values()):
            return name
        time.sleep(0.1)
    raise TimeoutError(name)


def read_lines(path: Path, limit: int | None = None) -> list[bytes]:
    opener = gzip.open if path.suffix == ".gz" else open
    out: list[bytes] = []
    with opener(path, "rb") as fh:
        for line in fh:
            out.append(line.rstrip(b"\n"))
            if limit is not None and len(out) >= limit:
                break
    return out


def fill(topic: str, lines: list[bytes], partitions: int) -> float:
    """Produce every line (round-robin over partitions); returns events/s."""
    producer = Producer(
        {
            "bootstrap.servers": BOOTSTRAP,
            "linger.ms": 20,
            "batch.size": 1_000_000,
            "compression.type": "lz4",
            "queue.buffering.max.messages": 1_000_000,
        }
    )
    started = time.perf_counter()
    for i, line in enumerate(lines):
        while True:
            try:
                producer.produce(topic, value=line, partition=i % partitions)
                break
            except BufferError:
                producer.poll(0.05)
        if i % 10_000 == 0:
            producer.poll(0)
    producer.flush(120)
    return len(lines) / (time.perf_counter() - started)


def end_offsets(topic: str, partitions: int) -> dict[int, int]:
    c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "bench-probe"})
    try:
        return {
            p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)
        }
    finally:
        c.close()


def simulate(out: Path, duration: str, scale: float, seed: int, scenarios: str | None) -> None:
    args = [
        sys.executable,
        "-m",
        "stream",
        "simulate",
        "--out",
        str(out),
        "--duration",
        duration,
        "--scale",
        str(scale),
        "--seed",
        str(seed),
        "--registry-out",
        str(out.with_suffix(".registry.jsonl")),
        "--labels-out",
        str(out.with_suffix(".labels.jsonl")),
    ]
    if scenarios:
        args += ["--scenarios", scenarios]
    subprocess.run(args, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
