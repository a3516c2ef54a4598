"""Traffic simulator: synthetic agencies, national DMV-query traffic, labelled misuse scenarios.

`dmvwatch simulate` (cli.py) drives it; the bench/ harness calls `bench_file` and `bench_kafka`.
Layout: geo (states), agencies (registry), traffic (background), responses + switch (outcomes and the
simulated state switch), scenarios + kinds + kinds_policy (injection and labels), events (JSON lines),
engine (the loop), sink (file/Kafka), summary (shares), cli.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stream.simulate.sink import Sink

__all__ = ["SimConfig", "Simulation", "bench_file", "bench_kafka"]


def __getattr__(name: str) -> Any:  # lazy: `dmvwatch` start-up does not pay for the simulator
    if name in ("SimConfig", "Simulation"):
        from stream.simulate import engine

        return getattr(engine, name)
    raise AttributeError(name)


def _bench(n_events: int, sink: Sink, seed: int) -> float:
    from stream.simulate.engine import SimConfig, Simulation

    # A week at full national scale is far more than any benchmark asks for; we stop at n_events.
    sim = Simulation(SimConfig(seed=seed, duration_s=7 * 86_400, scale=1.0))
    written = 0
    t0 = time.perf_counter()
    try:
        for lines in sim.run():
            sink.write(lines)
            written += len(lines)
            if written >= n_events:
                break
    finally:
        sink.close()
    return written / (time.perf_counter() - t0)


def bench_file(n_events: int, path: str | Path, seed: int = 1) -> float:
    """Generate about n_events to a JSONL file (gzip for .gz); returns wall-clock events/s."""
    from stream.simulate.sink import FileSink

    return _bench(n_events, FileSink(Path(path)), seed)


def bench_kafka(n_events: int, bootstrap: str, topic: str, seed: int = 1) -> float:
    """Produce about n_events to Kafka (flushed before the clock stops); returns events/s."""
    from stream.simulate.sink import KafkaSink

    return _bench(n_events, KafkaSink({"bootstrap.servers": bootstrap}, topic), seed)
