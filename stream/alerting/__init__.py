"""The alert path for on-call staff: Redis alert store, lifecycle, Alertmanager-style stages, delivery.

Layout (one noun per module, as in Alertmanager):
- `store.py`       Redis system of record; idempotent Lua write; open-alert indexes.
- `lifecycle.py`   firing -> acknowledged -> resolved (and silenced), with an append-only audit stream.
- `stages.py`      pure dedup / repeat / grouping decisions with an injected clock.
- `mute.py`        pure silences and inhibition rules (the two "muters").
- `silences.py`    silences kept in Redis.
- `state.py`       Redis-backed state of the stages (notification log, groups, muted alerts).
- `receivers.py`   Alertmanager v2 and signed generic webhooks.
- `outbox.py`      per-receiver outbox with next-attempt times and exponential backoff.
- `notifier.py`    the loop: consumer group on the alert stream -> stages -> outbox -> receivers.
- `redis_client.py` the one Redis client factory; `cli.py` the `dmvwatch alerts` / `notify` commands.
"""

from __future__ import annotations
