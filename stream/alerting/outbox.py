"""Per-receiver outbox in Redis: nothing is lost while a receiver is down, only delayed.

`<prefix>:outbox:<receiver>` is a sorted set of notification ids scored by their next attempt time, and
`...:items` holds each notification with its attempt count and last error. Entries are written in the
same transaction as the group flush (see `state.py`), removed only after the receiver accepted them, and
rescheduled with exponential backoff (`retry_initial_s`, doubling, capped at `retry_max_s`) otherwise.
A notification the receiver rejects as malformed (HTTP 4xx) moves to `...:dead` for a human to look at.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import redis
from redis.client import Pipeline

from stream.alerting.keys import Keys, text
from stream.alerting.receivers import DeliveryError, Receiver

log = logging.getLogger(__name__)
LEASE_S = 60.0  # longer than any delivery attempt (HTTP timeout), so a lease never expires mid-send

_CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id) end
return ids
"""


@dataclass(frozen=True, slots=True)
class Backoff:
    initial_s: float = 1.0
    max_s: float = 300.0

    def delay(self, attempts: int) -> float:
        """Delay after the `attempts`-th failure: initial, 2x, 4x, ... capped."""
        return min(self.max_s, self.initial_s * 2 ** max(0, attempts - 1))


@dataclass(slots=True)
class Item:
    id: str
    notification: dict[str, Any]
    created_at: float
    attempts: int = 0
    last_error: str = ""


@dataclass(slots=True)
class DrainStats:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


class Outbox:
    def __init__(self, client: redis.Redis, prefix: str = "dmvq", backoff: Backoff | None = None) -> None:
        self.client = client
        self.keys = Keys(prefix)
        self.backoff = backoff or Backoff()
        self._claim = client.register_script(_CLAIM)

    def stage(self, pipe: Pipeline, receiver: str, item: Item, now: float) -> None:
        """Queue `item` for `receiver` on a caller's transaction (idempotent by item id)."""
        pipe.hsetnx(self.keys.outbox_items(receiver), item.id, json.dumps(asdict(item)))
        pipe.zadd(self.keys.outbox(receiver), {item.id: now}, nx=True)

    def pending(self, receiver: str) -> int:
        return int(self.client.zcard(self.keys.outbox(receiver)))

    def dead(self, receiver: str) -> int:
        return int(self.client.zcard(self.keys.outbox_dead(receiver)))

    def next_attempt(self, receiver: str) -> float | None:
        first = self.client.zrange(self.keys.outbox(receiver), 0, 0, withscores=True)
        return float(first[0][1]) if first else None

    def due(self, receiver: str, now: float, limit: int = 100, lease_s: float = 0.0) -> list[Item]:
        """Items whose attempt time has come. With `lease_s`, they are also pushed `lease_s` ahead
        atomically, so a second notifier draining the same outbox does not send them too (and a crash
        mid-send only delays them by the lease)."""
        if lease_s > 0:
            found = self._claim(keys=[self.keys.outbox(receiver)], args=[now, now + lease_s, limit])
        else:
            found = self.client.zrangebyscore(self.keys.outbox(receiver), "-inf", now, 0, limit)
        ids = [text(i) for i in found]  # type: ignore[union-attr]
        if not ids:
            return []
        raws = self.client.hmget(self.keys.outbox_items(receiver), ids)
        return [Item(**json.loads(text(r))) for r in raws if r is not None]

    def drain(self, receiver: Receiver, now: float, limit: int = 100) -> DrainStats:
        """Try every due notification once, oldest first; reschedule failures with backoff."""
        stats = DrainStats()
        for item in self.due(receiver.name, now, limit, lease_s=LEASE_S):
            try:
                receiver.send(item.notification)
            except DeliveryError as exc:
                stats.errors.append(exc.reason)
                if exc.recoverable:
                    self._reschedule(receiver.name, item, now, exc.reason)
                    stats.failed += 1
                else:
                    self._bury(receiver.name, item, now, exc.reason)
                    stats.dead += 1
                continue
            self._done(receiver.name, item.id)
            stats.sent += 1
        return stats

    def _done(self, receiver: str, item_id: str) -> None:
        with self.client.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.outbox(receiver), item_id)
            pipe.hdel(self.keys.outbox_items(receiver), item_id)
            pipe.execute()

    def _reschedule(self, receiver: str, item: Item, now: float, reason: str) -> None:
        item.attempts += 1
        item.last_error = reason
        at = now + self.backoff.delay(item.attempts)
        log.warning(
            "delivery to %s failed (%s), attempt %d, next in %.0fs", receiver, reason, item.attempts, at - now
        )
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.outbox_items(receiver), item.id, json.dumps(asdict(item)))
            pipe.zadd(self.keys.outbox(receiver), {item.id: at}, xx=True)
            pipe.execute()

    def _bury(self, receiver: str, item: Item, now: float, reason: str) -> None:
        item.attempts += 1
        item.last_error = reason
        log.error("receiver %s rejected notification %s (%s): dead letter", receiver, item.id, reason)
        with self.client.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.outbox(receiver), item.id)
            pipe.hset(self.keys.outbox_items(receiver), item.id, json.dumps(asdict(item)))
            pipe.zadd(self.keys.outbox_dead(receiver), {item.id: now})
            pipe.execute()
