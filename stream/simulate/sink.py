"""Where simulated events go: a JSONL file (gzip when the name ends in .gz) or a Kafka topic.

Both take the engine's per-minute batches. The Kafka sink is a batched confluent-kafka producer (linger,
lz4) that keys messages by nothing or by a random key, like a real tap. `Pacer` turns simulated time into
wall-clock waits for live (`--rate`) and compressed (`--speedup`) runs.
"""

from __future__ import annotations

import gzip
import os
import random
import time
from pathlib import Path
from typing import IO, Any, Protocol

from stream.errors import SinkUnavailable


class Sink(Protocol):
    def write(self, lines: list[bytes]) -> None: ...

    def close(self) -> None: ...


class FileSink:
    def __init__(self, path: Path) -> None:
        self._raw: IO[bytes] = path.open("wb")
        self._fh: IO[bytes] = self._raw
        if path.name.endswith(".gz"):
            # mtime=0 and no file name in the header: the same run gives byte-identical .gz files
            self._fh = gzip.GzipFile(  # type: ignore[assignment]
                filename="", mode="wb", fileobj=self._raw, mtime=0, compresslevel=3
            )

    def write(self, lines: list[bytes]) -> None:
        if lines:
            self._fh.write(b"\n".join(lines))
            self._fh.write(b"\n")

    def close(self) -> None:
        if self._fh is not self._raw:
            self._fh.close()
        self._raw.close()


class KafkaSink:
    def __init__(self, conf: dict[str, Any], topic: str, keys: str = "none", seed: int = 0) -> None:
        from confluent_kafka import Producer

        self.errors = 0
        self.topic = topic
        self._rnd = random.Random(f"keys:{seed}") if keys == "random" else None
        self._producer = Producer(
            {
                **conf,
                "linger.ms": 20,
                "batch.size": 1_000_000,
                "compression.type": "lz4",
                "queue.buffering.max.messages": 1_000_000,
                "queue.buffering.max.kbytes": 1_048_576,
                "delivery.report.only.error": True,
                "on_delivery": self._on_delivery,
            }
        )

    def _on_delivery(self, err: Any, _msg: Any) -> None:
        if err is not None:
            self.errors += 1

    def write(self, lines: list[bytes]) -> None:
        produce, poll, topic, rnd = self._producer.produce, self._producer.poll, self.topic, self._rnd
        for line in lines:
            key = rnd.getrandbits(64).to_bytes(8, "big") if rnd is not None else None
            while True:
                try:
                    produce(topic, line, key)
                    break
                except BufferError:  # local queue full: let librdkafka drain it
                    poll(0.05)
        poll(0)

    def close(self) -> None:
        left = self._producer.flush(60)
        if left or self.errors:
            raise SinkUnavailable(f"kafka: {left} messages undelivered, {self.errors} delivery errors")


class Pacer:
    """Maps simulated milliseconds to wall-clock deadlines (speedup 1 = live)."""

    def __init__(self, sim_start_ms: int, speedup: float) -> None:
        self.sim_start_ms = sim_start_ms
        self.speedup = speedup
        self.wall_start = time.monotonic()

    def wait_until(self, sim_ms: int) -> None:
        delay = self.wall_start + (sim_ms - self.sim_start_ms) / 1000.0 / self.speedup - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def write_spread(self, sink: Sink, lines: list[bytes], t0_ms: int, t1_ms: int, slices: int = 30) -> None:
        """Write one simulated minute in slices, each at its share of the minute's wall time."""
        n = len(lines)
        for i in range(slices):
            part = lines[n * i // slices : n * (i + 1) // slices]
            self.wait_until(t0_ms + (t1_ms - t0_ms) * i // slices)
            sink.write(part)


def open_sink(
    out: Path | None, kafka_conf: dict[str, Any] | None, topic: str | None, keys: str, seed: int
) -> Sink:
    if kafka_conf is not None and topic:
        return KafkaSink(kafka_conf, topic, keys, seed)
    if out is None:
        raise ValueError("give --out FILE or --to-kafka")
    os.makedirs(out.parent, exist_ok=True)
    return FileSink(out)
