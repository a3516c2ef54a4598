"""The simulation loop: minute chunks of background and scenario events, flushed in emission order.

Each minute the background and every scenario add events to the factory's pending list; everything whose
emission time is before the end of the minute is sorted by (emit time, sequence) and yielded. Later
events can only have later times, so the output is in emission order. Then the tap's faults are applied:
redeliveries (the same line again, later), malformed lines (extra, broken copies) and silences.
Independent `random.Random` streams per concern keep one option from shifting another's draws.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from stream.simulate.agencies import SimAgency, build_registry
from stream.simulate.events import EventFactory
from stream.simulate.responses import Responder
from stream.simulate.scenarios import Scenarios, ScenarioSpec
from stream.simulate.traffic import Background

CHUNK_MS = 60_000


@dataclass
class SimConfig:
    seed: int = 1
    start: datetime = datetime(2026, 10, 1, tzinfo=UTC)
    duration_s: float = 86_400.0
    agencies: int = 18_000
    scale: float = 1.0
    fan_out: int = 8
    clear_text_share: float = 0.0
    malformed_share: float = 0.0
    duplicate_share: float = 0.0
    late_share: float = 0.005
    late_max_s: float = 180.0
    no_response_share: float = 0.01
    enrich: bool = False
    scenarios: list[ScenarioSpec] = field(default_factory=list)


def _malform(line: bytes, kind: int) -> bytes:
    """A broken copy of a valid line; every variant violates the contract."""
    if kind == 0:
        return line[: max(1, len(line) // 2)]  # truncated JSON
    if kind == 1:
        return b"\x00 not json: tap framing error"
    if kind == 2:
        return line.replace(b'"ts":"', b'"ts":"not-a-time ', 1)
    return line.replace(b'"schema":"dmvq.', b'"schema":"dmvx.', 1)


class Simulation:
    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.registry: list[SimAgency] = build_registry(cfg.seed, cfg.agencies)
        self.factory = EventFactory(
            cfg.seed,
            random.Random(f"late:{cfg.seed}"),
            clear_text_share=cfg.clear_text_share,
            enrich=cfg.enrich,
            late_share=cfg.late_share,
            late_max_ms=max(1001, int(cfg.late_max_s * 1000)),
        )
        self.responder = Responder(self.factory, random.Random(f"resp:{cfg.seed}"), cfg.no_response_share)
        self.background = Background(
            self.registry,
            self.factory,
            self.responder,
            random.Random(f"bg:{cfg.seed}"),
            scale=cfg.scale,
            fan_out=cfg.fan_out,
        )
        self.start_ms = int(cfg.start.timestamp() * 1000)
        # whole minutes: the chunk loop never cuts a minute of background traffic in two
        self.end_ms = self.start_ms + -(-int(cfg.duration_s * 1000) // CHUNK_MS) * CHUNK_MS
        self.scenarios = Scenarios(cfg.scenarios, self, cfg.seed)
        self._faults = random.Random(f"faults:{cfg.seed}")
        self._silences = self.factory.silences = self.scenarios.silences()
        self.chunk = (self.start_ms, self.start_ms)  # simulated span of the batch last yielded

    @property
    def stats(self) -> Any:
        return self.factory.stats

    def labels(self) -> list[dict[str, Any]]:
        return self.scenarios.labels()

    def run(self) -> Iterator[list[bytes]]:
        """Yield batches of output lines (one per simulated minute), in emission order."""
        # The hot path allocates millions of short-lived tuples and dicts but no reference cycles: full
        # collections would rescan the registry and pending list for nothing (about a third of the time).
        threshold = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(500_000, 50, 1000)
        try:
            t = self.start_ms
            while t < self.end_ms:
                t1 = t + CHUNK_MS
                self.background.minute(t)
                self.scenarios.minute(t, t1)
                self.chunk = (t, t1)
                yield self._flush(t1)
                t = t1
            yield self._flush(None)
            yield self._flush(None)  # redeliveries scheduled by the last flush
        finally:
            gc.set_threshold(*threshold)
            gc.unfreeze()

    def _flush(self, until: int | None) -> list[bytes]:
        pending = self.factory.pending
        pending.sort()
        if until is None:
            ready, rest = pending, []
        else:
            lo, hi = 0, len(pending)
            while lo < hi:  # first entry emitted at or after `until`
                mid = (lo + hi) // 2
                if pending[mid][0] < until:
                    lo = mid + 1
                else:
                    hi = mid
            ready, rest = pending[:lo], pending[lo:]
        self.factory.pending = rest
        return self._faulted(ready)

    def _faulted(self, ready: list[tuple[int, int, bytes]]) -> list[bytes]:
        cfg, rnd, stats = self.cfg, self._faults, self.factory.stats
        if not (self._silences or cfg.duplicate_share or cfg.malformed_share):
            return [line for _, _, line in ready]  # a clean tap: nothing to add or drop
        out: list[bytes] = []
        silences = self._silences
        for emit, seq, line in ready:
            if silences and any(a <= emit < b for a, b in silences):
                stats.events["silenced"] += 1
                continue
            out.append(line)
            if seq < 0:  # a redelivery: no further faults on it
                continue
            if cfg.duplicate_share and rnd.random() < cfg.duplicate_share:
                self.factory._seq += 1
                self.factory.pending.append((emit + rnd.randrange(1, 60_000), -self.factory._seq, line))
                stats.events["duplicate"] += 1
            if cfg.malformed_share and rnd.random() < cfg.malformed_share:
                out.append(_malform(line, rnd.randrange(4)))
                stats.events["malformed"] += 1
        return out
