"""Redis key names of the alert path, all under one configurable prefix.

Kept in one place so the store, the lifecycle, the notifier state and the CLI never disagree on a name,
and so a test (or a second deployment) can use its own prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

# Index dimensions of open alerts (value `-` stands for "none", e.g. feed_silence has no ORI).
INDEX_FIELDS: tuple[str, ...] = ("severity", "detector", "ori", "state", "status")
NONE_VALUE = "-"


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str = "dmvq"

    def alert(self, alert_id: str) -> str:
        return f"{self.prefix}:alert:{alert_id}"

    @property
    def stream(self) -> str:
        return f"{self.prefix}:alerts"

    @property
    def live(self) -> str:
        return f"{self.prefix}:alerts:live"

    @property
    def audit(self) -> str:
        return f"{self.prefix}:alerts:audit"

    @property
    def open_all(self) -> str:
        return f"{self.prefix}:alerts:open"

    def open_index(self, field: str, value: str | None) -> str:
        return f"{self.prefix}:alerts:open:{field}:{value or NONE_VALUE}"

    @property
    def all_alerts(self) -> str:
        """Every alert ever written, scored by first write time (for `list --status resolved`)."""
        return f"{self.prefix}:alerts:all"

    @property
    def resolved(self) -> str:
        return f"{self.prefix}:alerts:resolved"

    @property
    def silences(self) -> str:
        return f"{self.prefix}:silences"

    # Notifier state (see state.py and outbox.py).
    @property
    def nflog(self) -> str:
        return f"{self.prefix}:notify:log"

    def group(self, group_key: str) -> str:
        return f"{self.prefix}:notify:group:{group_key}"

    @property
    def groups_due(self) -> str:
        return f"{self.prefix}:notify:groups_due"

    @property
    def resolved_cursor(self) -> str:
        return f"{self.prefix}:notify:resolved_cursor"

    @property
    def muted(self) -> str:
        return f"{self.prefix}:notify:muted"

    def outbox(self, receiver: str) -> str:
        return f"{self.prefix}:outbox:{receiver}"

    def outbox_items(self, receiver: str) -> str:
        return f"{self.prefix}:outbox:{receiver}:items"

    def outbox_dead(self, receiver: str) -> str:
        return f"{self.prefix}:outbox:{receiver}:dead"

    def history(self, alert_id: str) -> str:
        """Per-alert copy of its audit entries (the global audit stream stays the record)."""
        return f"{self.prefix}:alert:{alert_id}:history"


def text(value: object) -> str:
    """Redis replies as text whether or not the client decodes responses."""
    return value.decode() if isinstance(value, bytes) else str(value)


def text_map(raw: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {text(k): text(v) for k, v in raw.items()}
