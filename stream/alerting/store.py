"""Redis is the system of record for alerts: idempotent writes by `alert_id`, open-alert indexes, live feed.

A Lua script makes each write atomic and idempotent. On first write it stores the hash
`<prefix>:alert:<id>`, appends the id to the stream `<prefix>:alerts` (MAXLEN ~), adds the id to the
open-alert indexes (sorted sets by severity, detector, ORI, state and status, scored by first write) and
publishes the alert on `<prefix>:alerts:live`. A re-write of an existing alert only bumps `last_seen` and
`occurrences`: status, acknowledgement and resolution are never reset by a replay or a restart.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import redis
from redis.client import Pipeline

from stream.alerting.keys import NONE_VALUE, Keys, text, text_map
from stream.findings import Alert

_WRITE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'occurrences', 1)
  redis.call('HSET', KEYS[1], 'last_seen', ARGV[3])
  return 0
end
redis.call('HSET', KEYS[1], 'json', ARGV[2], 'status', 'firing', 'first_seen', ARGV[3],
  'last_seen', ARGV[3], 'occurrences', 1, 'detector', ARGV[5], 'severity', ARGV[6],
  'ori', ARGV[7], 'state', ARGV[8])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'alert_id', ARGV[1], 'detector', ARGV[5])
for i = 4, 5 do
  redis.call('XADD', KEYS[i], '*', 'alert_id', ARGV[1], 'from', '', 'to', 'firing', 'actor', 'monitor',
    'reason', 'raised', 'at', ARGV[3])
end
for i = 6, #KEYS do redis.call('ZADD', KEYS[i], ARGV[3], ARGV[1]) end
redis.call('PUBLISH', KEYS[3], ARGV[2])
return 1
"""

# Hash fields that are numbers; everything else in the hash is text.
_FLOAT_FIELDS = (
    "first_seen",
    "last_seen",
    "acked_at",
    "resolved_at",
    "ack_seconds",
    "resolve_seconds",
    "silenced_at",
)


def alert_state(alert: Alert) -> str | None:
    """The state an alert concerns (destination state), used for indexes, grouping and labels."""
    return alert.destination_state


class AlertStore:
    """Alert store on Redis. `stage()` joins a caller-owned MULTI/EXEC pipeline; `write()` owns one."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str = "dmvq",
        stream_maxlen: int = 1_000_000,
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.keys = Keys(prefix)
        self.stream_maxlen = stream_maxlen
        self._now = now
        self._script = client.register_script(_WRITE)

    def _keys_for(self, alert: Alert) -> list[str]:
        k = self.keys
        return [
            k.alert(alert.alert_id),
            k.stream,
            k.live,
            k.audit,
            k.history(alert.alert_id),
            k.open_all,
            k.all_alerts,
            k.open_index("severity", alert.severity),
            k.open_index("detector", alert.detector),
            k.open_index("ori", alert.ori),
            k.open_index("state", alert_state(alert)),
            k.open_index("status", "firing"),
        ]

    def stage(self, pipe: Pipeline, alert: Alert) -> None:
        """Queue the idempotent write of `alert` on `pipe` (the caller runs MULTI/EXEC).

        The pipeline's result for this command is 1 when the alert was created, 0 when it existed.
        """
        doc = alert.to_json_dict()
        doc["status"] = "firing"
        args: list[str | int] = [
            alert.alert_id,
            json.dumps(doc, separators=(",", ":"), sort_keys=True),
            repr(float(self._now())),
            self.stream_maxlen,
            alert.detector,
            alert.severity,
            alert.ori or NONE_VALUE,
            alert_state(alert) or NONE_VALUE,
        ]
        self._script(keys=self._keys_for(alert), args=args, client=pipe)

    def write(self, alerts: list[Alert]) -> int:
        """Write alerts in one transaction; returns how many were newly created."""
        if not alerts:
            return 0
        with self.client.pipeline(transaction=True) as pipe:
            for alert in alerts:
                self.stage(pipe, alert)
            return sum(int(r) for r in pipe.execute())

    def get(self, alert_id: str) -> Alert | None:
        """The alert with its current status and lifecycle fields (occurrences, acked_by, ...)."""
        raw = self.client.hgetall(self.keys.alert(alert_id))
        return _from_hash(text_map(raw)) if raw else None

    def get_many(self, alert_ids: list[str]) -> list[Alert]:
        with self.client.pipeline(transaction=False) as pipe:
            for alert_id in alert_ids:
                pipe.hgetall(self.keys.alert(alert_id))
            rows = pipe.execute()
        return [_from_hash(text_map(raw)) for raw in rows if raw]

    def list(
        self,
        *,
        severity: str | None = None,
        detector: str | None = None,
        ori: str | None = None,
        state: str | None = None,
        status: str | None = None,
        limit: int = 100,
    ) -> list[Alert]:
        """Alerts matching every given filter, newest first. Open alerts come from the indexes;
        `status="resolved"` reads the resolved set and filters the hashes."""
        filters = {"severity": severity, "detector": detector, "ori": ori, "state": state}
        if status == "resolved":
            ids = [text(i) for i in self.client.zrevrange(self.keys.resolved, 0, max(limit * 10, 1000))]
            found = [a for a in self.get_many(ids) if _matches(a, filters)]
            return found[:limit]
        if status is not None:
            filters["status"] = status
        index_keys = [self.keys.open_all] + [
            self.keys.open_index(f, v) for f, v in filters.items() if v is not None
        ]
        scored: Any = self.client.zinter(index_keys, withscores=True, aggregate="MAX")
        newest = [text(i) for i, _ in sorted(scored, key=lambda p: (-p[1], text(p[0])))][:limit]
        return self.get_many(newest)

    def open_count(self, field: str, value: str) -> int:
        """Number of open alerts with `field == value` (for scrape-time gauges)."""
        return int(self.client.zcard(self.keys.open_index(field, value)))


def _matches(alert: Alert, filters: dict[str, str | None]) -> bool:
    values = {
        "severity": alert.severity,
        "detector": alert.detector,
        "ori": alert.ori,
        "state": alert_state(alert),
    }
    return all(want is None or values[f] == want for f, want in filters.items())


def _from_hash(raw: dict[str, Any]) -> Alert:
    doc = json.loads(raw["json"])
    doc["status"] = raw.get("status", doc.get("status", "firing"))
    doc["occurrences"] = int(raw.get("occurrences", 1))
    for name in _FLOAT_FIELDS:
        if name in raw:
            doc[name] = float(raw[name])
    for name in ("acked_by", "ack_reason", "resolved_by", "resolve_reason", "silenced_by"):
        if name in raw:
            doc[name] = raw[name]
    return Alert.model_validate(doc)
