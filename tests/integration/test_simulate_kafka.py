"""`dmvwatch simulate --to-kafka` against the real local Kafka: what is produced is what a file run writes."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Consumer
from typer.testing import CliRunner

from stream.cli import app
from stream.simulate import bench_kafka
from tests.unit.simulate_support import DEMO_YAML, read_lines

pytestmark = pytest.mark.integration
ARGS = [
    "simulate",
    "--duration",
    "30m",
    "--scale",
    "0.05",
    "--agencies",
    "3000",
    "--seed",
    "5",
    "--start",
    "2026-10-01T14:00:00Z",
    "--scenarios",
    str(DEMO_YAML),
    "--duplicate-share",
    "0.01",
    "--quiet",
]


def _consume_all(bootstrap: str, topic: str, group: str, expected: int, timeout_s: float = 90) -> list[bytes]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    got: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(got) < expected and time.monotonic() < deadline:
            for msg in consumer.consume(5000, timeout=1.0):
                assert msg.error() is None, msg.error()
                got.append(msg.value())
        # a little longer: nothing beyond what was produced may show up
        got.extend(m.value() for m in consumer.consume(1000, timeout=2.0) if m.error() is None)
    finally:
        consumer.close()
    return got


def test_kafka_output_equals_file_output(
    kafka_bootstrap: str, new_topic: Callable[..., str], unique_group: str, tmp_path: Path
) -> None:
    topic = new_topic(partitions=3)
    file_run = CliRunner().invoke(app, [*ARGS, "--out", str(tmp_path / "same.jsonl")])
    assert file_run.exit_code == 0, file_run.output
    kafka_run = CliRunner().invoke(
        app, [*ARGS, "--to-kafka", "--bootstrap", kafka_bootstrap, "--topic", topic, "--keys", "random"]
    )
    assert kafka_run.exit_code == 0, kafka_run.output
    expected = read_lines(tmp_path / "same.jsonl")
    assert len(expected) > 1000
    got = _consume_all(kafka_bootstrap, topic, unique_group, len(expected))
    assert len(got) == len(expected)
    assert Counter(got) == Counter(expected)


def test_bench_kafka_reports_a_rate_and_delivers_everything(
    kafka_bootstrap: str, new_topic: Callable[..., str], unique_group: str
) -> None:
    topic = new_topic()
    rate = bench_kafka(20_000, kafka_bootstrap, topic)
    assert rate > 0
    got = _consume_all(kafka_bootstrap, topic, unique_group, 20_000)
    assert len(got) >= 20_000
