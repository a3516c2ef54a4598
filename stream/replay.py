"""`dmvwatch replay`: the live pipeline over archived JSONL (or gzip) files, with no Kafka or Redis.

This is how auditors re-run history: the same decoder, pipeline and detectors as the worker, so the
alert set equals what the live monitor raised on the same events. Bad lines are counted by reason and
optionally written out with their original bytes (the dead-letter file has the trust zone of the input).
"""

from __future__ import annotations

import base64
import gzip
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from stream.app import Core
from stream.errors import DecodeError
from stream.findings import Alert, Finding, to_alert
from stream.pipeline import Pipeline


@dataclass
class ReplayResult:
    events: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    late: int = 0
    alerts: dict[str, Alert] = field(default_factory=dict)
    aggregates: dict[str, dict[str, int]] = field(default_factory=dict)


def iter_lines(path: Path) -> Iterator[bytes]:
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        for line in fh:
            line = line.rstrip(b"\r\n")
            if line:
                yield line


def alert_json(alert: Alert) -> bytes:
    body = alert.to_json_dict()
    if body.get("raised_at") is None:
        body.pop("raised_at", None)  # replay has no wall clock: omit rather than invent one
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


class Replayer:
    def __init__(self, core: Core, aggregator: Any | None = None) -> None:
        self.core = core
        self.result = ReplayResult()
        self.aggregator = aggregator
        observers = [aggregator] if aggregator is not None else []
        self.pipeline: Pipeline = core.new_pipeline(observers, on_late=self._late, on_duplicate=self._dup)

    def _late(self, kind: str) -> None:
        self.result.late += 1

    def _dup(self) -> None:
        self.result.duplicates += 1

    def feed(self, raw: bytes, dlq_out: IO[bytes] | None = None, origin: str = "") -> list[Alert]:
        res = self.result
        try:
            event = self.core.decoder.decode(raw)
        except DecodeError as exc:
            res.dead_letters[exc.reason] += 1
            if dlq_out is not None:
                dlq_out.write(
                    orjson.dumps(
                        {
                            "reason": exc.reason,
                            "detail": exc.detail,
                            "origin": origin,
                            "raw_b64": base64.b64encode(raw).decode(),
                        }
                    )
                    + b"\n"
                )
            return []
        res.events += 1
        return self._alerts(self.pipeline.process(event))

    def _alerts(self, findings: list[Finding]) -> list[Alert]:
        new = []
        for f in findings:
            alert = to_alert(f, self.core.policy.version, None, self.core.settings.alerts.runbook_base_url)
            if alert.alert_id not in self.result.alerts:
                self.result.alerts[alert.alert_id] = alert
                if self.aggregator is not None:
                    self.aggregator.on_alert(alert)
                new.append(alert)
        return new

    def finish(self) -> list[Alert]:
        """End of input: release responses still waiting for their query; hand over aggregates."""
        new = self._alerts(self.pipeline.drain())
        if self.aggregator is not None:
            for month, delta in self.aggregator.drain().items():
                bucket = self.result.aggregates.setdefault(month, {})
                for k, v in delta.items():
                    bucket[k] = bucket.get(k, 0) + v
        return new
