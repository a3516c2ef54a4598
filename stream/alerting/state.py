"""Redis-backed state of the notifier stages: notification log, aggregation groups, muted alerts.

The pure rules are in `stages.py`; this adapter only loads and saves. Group updates use WATCH/MULTI so
that two notifier processes sharing a consumer group cannot lose each other's changes, and a flush
persists the new group state, the notification log and the outbox entries in one transaction: after a
crash either all of them happened or none did.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import redis
from redis.client import Pipeline

from stream.alerting.keys import Keys, text
from stream.alerting.stages import (
    Decision,
    GroupState,
    NotifyEntry,
    Timing,
    add_to_group,
    flush,
    next_flush,
    remove_from_group,
)

# Called inside the flush transaction with (pipe, group state read under WATCH); returns the ids to drop
# from the group (no longer firing or now muted) and the mute decisions to record.
Decide = Callable[[GroupState], tuple[set[str], dict[str, Decision]]]
Enqueue = Callable[[Pipeline, GroupState, list[str]], None]


class NotifierState:
    def __init__(self, client: redis.Redis, prefix: str = "dmvq") -> None:
        self.client = client
        self.keys = Keys(prefix)

    def entry(self, alert_id: str) -> NotifyEntry | None:
        raw = self.client.hget(self.keys.nflog, alert_id)
        return NotifyEntry(**json.loads(text(raw))) if raw is not None else None

    def group(self, key: str) -> GroupState | None:
        raw = self.client.get(self.keys.group(key))
        return GroupState.from_json(text(raw)) if raw is not None else None

    def due_groups(self, now: float, limit: int = 500) -> list[str]:
        return [text(k) for k in self.client.zrangebyscore(self.keys.groups_due, "-inf", now, 0, limit)]

    def muted(self) -> dict[str, dict[str, Any]]:
        return {text(k): json.loads(text(v)) for k, v in self.client.hgetall(self.keys.muted).items()}

    def admit(self, alert_id: str, key: str, now: float, timing: Timing) -> GroupState:
        """Log the alert and add it to its group (one transaction); returns the group after."""

        def change(pipe: Pipeline, group: GroupState | None) -> GroupState:
            g = add_to_group(group, key, alert_id, now)
            pipe.hsetnx(self.keys.nflog, alert_id, json.dumps({"admitted_at": now}))
            pipe.hdel(self.keys.muted, alert_id)
            return g

        after = self._update_group(key, change, timing)
        assert after is not None  # admitting always leaves a group
        return after

    def mute(self, alert_id: str, key: str, now: float, decision: Decision, timing: Timing) -> None:
        """Log the alert as seen and park it in the muted set (it leaves its group)."""

        def change(pipe: Pipeline, group: GroupState | None) -> GroupState | None:
            pipe.hsetnx(self.keys.nflog, alert_id, json.dumps({"admitted_at": now}))
            self._park(pipe, alert_id, key, decision)
            return remove_from_group(group, alert_id) if group else None

        self._update_group(key, change, timing)

    def forget_muted(self, alert_id: str) -> None:
        self.client.hdel(self.keys.muted, alert_id)

    def flush_group(
        self, key: str, now: float, timing: Timing, decide: Decide, enqueue: Enqueue
    ) -> list[str]:
        """Send the group if it is due: drop what `decide` says, enqueue the rest, log it as notified."""
        sent: list[str] = []

        def change(pipe: Pipeline, group: GroupState | None) -> GroupState | None:
            nonlocal sent
            if group is None:
                return None
            at = next_flush(group, timing)
            if at is None or now < at:
                return group
            drop, mutes = decide(group)
            for alert_id, decision in mutes.items():
                self._park(pipe, alert_id, key, decision)
            kept = GroupState(
                group.key,
                group.first_seen,
                group.last_flush,
                [a for a in group.pending if a not in drop],
                [a for a in group.notified if a not in drop],
            )
            after, sent = flush(kept, now, set(kept.pending) | set(kept.notified))
            if sent:
                enqueue(pipe, after, sent)
            for alert_id in sent:
                pipe.hset(self.keys.nflog, alert_id, json.dumps({"admitted_at": now, "notified_at": now}))
            return after

        self._update_group(key, change, timing)
        return sent

    def _park(self, pipe: Pipeline, alert_id: str, key: str, d: Decision) -> None:
        doc = {"group": key, "stage": d.stage, "reason": d.reason, "detail": d.detail, "until": d.until}
        pipe.hset(self.keys.muted, alert_id, json.dumps(doc))

    def _update_group(
        self, key: str, change: Callable[[Pipeline, GroupState | None], GroupState | None], timing: Timing
    ) -> GroupState | None:
        gkey = self.keys.group(key)
        with self.client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(gkey)
                    raw = pipe.get(gkey)
                    before = GroupState.from_json(text(raw)) if raw is not None else None
                    pipe.multi()
                    after = change(pipe, before)
                    self._save_group(pipe, key, after, timing)
                    pipe.execute()
                    return after
                except redis.WatchError:
                    continue

    def _save_group(self, pipe: Pipeline, key: str, group: GroupState | None, timing: Timing) -> None:
        at = next_flush(group, timing) if group is not None else None
        if group is None or at is None:
            pipe.delete(self.keys.group(key))
            pipe.zrem(self.keys.groups_due, key)
            return
        pipe.set(self.keys.group(key), group.to_json())
        pipe.zadd(self.keys.groups_due, {key: at})
