"""Reading the alert stream with a consumer group, at-least-once.

Order of reads: first this consumer's own unacknowledged entries (left by a crash before XACK), then
entries idle for a minute on another consumer (a notifier that died; XAUTOCLAIM), then new entries.
The caller acknowledges an entry only after it has stored what the entry caused, and the stages'
notification log makes a redelivered entry harmless (`deduplicated`).
"""

from __future__ import annotations

from typing import Any

import redis

from stream.alerting.keys import text

CLAIM_IDLE_MS = 60_000


class StreamIntake:
    def __init__(self, client: redis.Redis, stream: str, group: str, consumer: str, batch: int = 200) -> None:
        self.client, self.stream, self.group, self.consumer, self.batch = (
            client,
            stream,
            group,
            consumer,
            batch,
        )
        self._group_ready = False
        self._own_backlog = True

    def read(self, block_ms: int | None = None) -> list[tuple[str, str]]:
        """Up to `batch` (entry id, alert id) pairs; blocks up to `block_ms` only for new entries."""
        self._ensure_group()
        if self._own_backlog:
            entries = self._xread("0", None)
            self._own_backlog = bool(entries)
            if entries:
                return entries
        claimed = self.client.xautoclaim(
            self.stream, self.group, self.consumer, min_idle_time=CLAIM_IDLE_MS, count=self.batch
        )
        entries = _pairs(claimed[1])
        return entries or self._xread(">", block_ms)

    def ack(self, entry_id: str) -> None:
        self.client.xack(self.stream, self.group, entry_id)

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            # From the start of the stream: alerts written before the first notifier ran are not lost.
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def _xread(self, start: str, block_ms: int | None) -> list[tuple[str, str]]:
        reply: Any = self.client.xreadgroup(
            self.group, self.consumer, {self.stream: start}, count=self.batch, block=block_ms
        )
        return [pair for _stream, rows in reply or [] for pair in _pairs(rows)]


def _pairs(rows: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    out: list[tuple[str, str]] = []
    for entry_id, fields in rows:
        f = {text(k): text(v) for k, v in (fields or {}).items()}
        if "alert_id" in f:
            out.append((text(entry_id), f["alert_id"]))
    return out
