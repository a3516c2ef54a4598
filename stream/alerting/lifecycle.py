"""Alert lifecycle: firing -> acknowledged -> resolved, and firing <-> silenced, audited.

Every change runs in one Lua script that checks the current status against the allowed transitions,
updates the status in the alert hash, moves the alert between open indexes (resolved alerts leave them)
and appends `alert_id, from, to, actor, reason, at` to the append-only audit stream
`<prefix>:alerts:audit` (and to the alert's own history). Acknowledging records `ack_seconds`, the time to
acknowledge, which the monthly export reports.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from stream.alerting.keys import INDEX_FIELDS, Keys, text, text_map
from stream.errors import WatchError

# Allowed transitions: target status -> statuses it may come from.
TRANSITIONS: dict[str, frozenset[str]] = {
    "acknowledged": frozenset({"firing", "silenced"}),
    "resolved": frozenset({"firing", "acknowledged", "silenced"}),
    "silenced": frozenset({"firing"}),
    "firing": frozenset({"silenced"}),  # a silence ended before anyone acknowledged
}
_OPEN_STATUSES = ("firing", "acknowledged", "silenced")

_TRANSITION = """
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return {0, ''} end
local ok = false
for s in string.gmatch(ARGV[2], '[^,]+') do if s == cur then ok = true end end
if not ok then return {0, cur} end
local new, actor, reason, now, id = ARGV[1], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local first = tonumber(redis.call('HGET', KEYS[1], 'first_seen')) or tonumber(now)
redis.call('HSET', KEYS[1], 'status', new)
if new == 'acknowledged' then
  redis.call('HSET', KEYS[1], 'acked_at', now, 'acked_by', actor, 'ack_reason', reason,
    'ack_seconds', tostring(tonumber(now) - first))
elseif new == 'resolved' then
  redis.call('HSET', KEYS[1], 'resolved_at', now, 'resolved_by', actor, 'resolve_reason', reason,
    'resolve_seconds', tostring(tonumber(now) - first))
elseif new == 'silenced' then
  redis.call('HSET', KEYS[1], 'silenced_at', now, 'silenced_by', actor)
end
local status_key = {firing = KEYS[10], acknowledged = KEYS[11], silenced = KEYS[12]}
redis.call('ZREM', status_key[cur], id)
if new == 'resolved' then
  for i = 5, 9 do redis.call('ZREM', KEYS[i], id) end
  redis.call('ZADD', KEYS[4], now, id)
else
  redis.call('ZADD', status_key[new], first, id)
end
for i = 2, 3 do
  redis.call('XADD', KEYS[i], '*', 'alert_id', id, 'from', cur, 'to', new, 'actor', actor,
    'reason', reason, 'at', now)
end
return {1, cur}
"""


class TransitionRefused(WatchError):
    """The alert does not exist or its status does not allow the requested change."""

    def __init__(self, alert_id: str, current: str, target: str) -> None:
        self.alert_id, self.current, self.target = alert_id, current, target
        what = f"is {current}" if current else "does not exist"
        super().__init__(f"alert {alert_id} {what}; cannot move it to {target}")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    alert_id: str
    from_status: str
    to_status: str
    actor: str
    reason: str
    at: float


class Lifecycle:
    """Status changes of stored alerts. `now` is injected so tests and replays control time."""

    def __init__(
        self, client: redis.Redis, prefix: str = "dmvq", *, now: Callable[[], float] = time.time
    ) -> None:
        self.client = client
        self.keys = Keys(prefix)
        self._now = now
        self._script = client.register_script(_TRANSITION)

    def acknowledge(self, alert_id: str, actor: str, reason: str = "") -> str:
        previous = self._move(alert_id, "acknowledged", actor, reason)
        self._count_ack(alert_id)
        return previous

    def _count_ack(self, alert_id: str) -> None:
        """Time to acknowledge goes into the monthly aggregates (month of the alert's window), once:
        an alert is acknowledged at most once (TRANSITIONS)."""
        from stream.aggregates import MonthlyAggregator, month_of_iso
        from stream.export.store import AggregateStore

        raw, seconds, detector = self.client.hmget(
            self.keys.alert(alert_id), ["json", "ack_seconds", "detector"]
        )
        if raw is None or seconds is None:
            return
        month = month_of_iso(json.loads(text(raw))["window_start"])
        agg = MonthlyAggregator()
        agg.on_ack(alert_id, text(detector or b"unknown"), month, float(text(seconds)))
        pipe = self.client.pipeline(transaction=True)
        AggregateStore(self.client, self.keys.prefix).stage(pipe, agg.drain())
        pipe.execute()

    def resolve(self, alert_id: str, actor: str, reason: str = "") -> str:
        return self._move(alert_id, "resolved", actor, reason)

    def silence(self, alert_id: str, silence_id: str) -> str:
        return self._move(alert_id, "silenced", silence_id, "matched a silence")

    def unsilence(self, alert_id: str, reason: str = "silence expired") -> str:
        return self._move(alert_id, "firing", "notifier", reason)

    def _move(self, alert_id: str, target: str, actor: str, reason: str) -> str:
        """Apply one transition; returns the previous status or raises TransitionRefused."""
        if not actor:
            raise ValueError("an actor is required for every status change")
        k = self.keys
        fields = self.client.hmget(k.alert(alert_id), ["severity", "detector", "ori", "state"])
        found = (text(v) if v is not None else None for v in fields)
        values = dict(zip(INDEX_FIELDS[:4], found, strict=True))
        keys = [k.alert(alert_id), k.audit, k.history(alert_id), k.resolved, k.open_all]
        keys += [k.open_index(f, values[f]) for f in INDEX_FIELDS[:4]]
        keys += [k.open_index("status", s) for s in _OPEN_STATUSES]
        allowed = ",".join(sorted(TRANSITIONS[target]))
        args = [target, allowed, actor, reason, repr(float(self._now())), alert_id]
        ok, previous = self._script(keys=keys, args=args)
        if not int(ok):
            raise TransitionRefused(alert_id, text(previous), target)
        return text(previous)

    def history(self, alert_id: str) -> list[AuditEntry]:
        """The alert's audit entries, oldest first."""
        rows: list[Any] = self.client.xrange(self.keys.history(alert_id)) or []  # type: ignore[assignment]
        return [_entry(text_map(fields)) for _, fields in rows]


def _entry(f: dict[str, str]) -> AuditEntry:
    return AuditEntry(f["alert_id"], f["from"], f["to"], f["actor"], f["reason"], float(f["at"]))
