"""(a) The ceiling: a bare confluent-kafka consumer that only reads the messages."""

from __future__ import annotations

import time

from confluent_kafka import Consumer

from bench.common import BOOTSTRAP, run_id


def measure(topic: str, total: int) -> float:
    c = Consumer(
        {
            "bootstrap.servers": BOOTSTRAP,
            "group.id": f"bench-raw-{run_id()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "queued.max.messages.kbytes": 65_536,
        }
    )
    c.subscribe([topic])
    seen = 0
    started = None
    while seen < total:
        msgs = c.consume(5000, 1.0)
        if msgs and started is None:
            started = time.perf_counter()
        seen += sum(1 for m in msgs if m.error() is None)
    elapsed = time.perf_counter() - (started or time.perf_counter())
    c.close()
    return total / elapsed
