"""Resolution notices (Alertmanager's `send_resolved`): tell receivers when a notified alert is resolved.

The lifecycle records resolutions in the sorted set `<prefix>:alerts:resolved` (scored by resolution
time). The notifier follows that set with a cursor kept in Redis and, for every alert that had been
notified, queues one `status: "resolved"` notification per receiver in the same transaction that moves
the cursor, so each resolution is announced once even across restarts. Alerts resolved before anyone
was notified need no notice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import redis

from stream.alerting.keys import Keys, text
from stream.alerting.outbox import Item, Outbox
from stream.alerting.receivers import Receiver
from stream.alerting.state import NotifierState
from stream.alerting.store import AlertStore
from stream.findings import iso

BATCH = 500


class ResolvedAnnouncer:
    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        store: AlertStore,
        state: NotifierState,
        outbox: Outbox,
        receivers: Sequence[Receiver],
    ) -> None:
        self.client, self.keys = client, Keys(prefix)
        self.store, self.state, self.outbox, self.receivers = store, state, outbox, receivers

    def announce(self, now: float) -> int:
        """Queue notices for resolutions after the cursor; returns 1 when a notice was queued."""
        raw = self.client.get(self.keys.resolved_cursor)
        low = f"({text(raw)}" if raw is not None else "-inf"
        rows: Any = self.client.zrangebyscore(self.keys.resolved, low, "+inf", 0, BATCH, withscores=True)
        if not rows:
            return 0
        ids = [text(i) for i, _ in rows]
        last = max(float(score) for _, score in rows)
        notified = [i for i in ids if (e := self.state.entry(i)) is not None and e.notified_at is not None]
        alerts = self.store.get_many(notified)
        with self.client.pipeline(transaction=True) as pipe:
            if alerts:
                note = {
                    "version": "1",
                    "group_key": "resolved",
                    "status": "resolved",
                    "notified_at": iso(now),
                    "alerts": [a.to_json_dict() for a in alerts],
                }
                nid = hashlib.sha256(("resolved|" + "|".join(notified)).encode()).hexdigest()[:24]
                for receiver in self.receivers:
                    self.outbox.stage(pipe, receiver.name, Item(nid, note, now), now)
            pipe.set(self.keys.resolved_cursor, repr(last))
            pipe.execute()
        return 1 if alerts else 0
