"""Pure alert stages in the Alertmanager mould: dedup + repeat interval, and grouping timers.

No Redis and no clock in here: every function takes the current time `now` and the state it needs, and
returns a `Decision` whose `reason` is one of a small fixed set (a metric label). The Redis-backed state
lives in `state.py`; `notifier.py` strings the stages together.

Timing follows Alertmanager's route defaults: the first alert of a new group waits `group_wait` (30s) so
that its siblings travel in the same notification; new alerts in an already-notified group wait until
`group_interval` (5m) after the last notification; an unchanged group is re-sent every `repeat_interval`
(4h) while any of its alerts is still firing (not acknowledged, resolved or silenced).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Literal

from stream.findings import Alert
from stream.settings import AlertSettings

Reason = Literal["delivered", "deduplicated", "grouped_wait", "inhibited", "silenced", "repeat_interval"]
REASONS: tuple[Reason, ...] = (
    "delivered",
    "deduplicated",
    "grouped_wait",
    "inhibited",
    "silenced",
    "repeat_interval",
)
Stage = Literal["dedup", "silence", "inhibit", "group"]
STAGES: tuple[Stage, ...] = ("dedup", "silence", "inhibit", "group")
GROUP_BY: tuple[str, ...] = ("detector", "ori", "state")
# Every (stage, reason) pair the notifier reports through `on_decision`: for zero-initialised metrics.
DECISION_PAIRS: tuple[tuple[Stage, Reason], ...] = (
    ("dedup", "deduplicated"),
    ("dedup", "repeat_interval"),
    ("silence", "silenced"),
    ("inhibit", "inhibited"),
    ("group", "grouped_wait"),
    ("group", "repeat_interval"),
    ("group", "delivered"),
)


@dataclass(frozen=True, slots=True)
class Decision:
    """What a stage did with an alert. `until` is when the alert may pass, when that is known."""

    stage: Stage
    reason: Reason
    until: float | None = None
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.reason == "delivered"


@dataclass(frozen=True, slots=True)
class Timing:
    group_wait: float = 30.0
    group_interval: float = 300.0
    repeat_interval: float = 14_400.0

    @classmethod
    def from_settings(cls, s: AlertSettings) -> Timing:
        return cls(s.group_wait_s, s.group_interval_s, s.repeat_interval_s)


def alert_labels(alert: Alert) -> dict[str, str]:
    """Identity labels of an alert (no personal data: ORI and state are agency/jurisdiction codes)."""
    labels = {
        "alertname": f"dmvwatch_{alert.detector}",
        "detector": alert.detector,
        "severity": alert.severity,
        "ori": alert.ori or "",
        "state": alert.destination_state or "",
    }
    return {k: v for k, v in labels.items() if v}


def group_key(labels: dict[str, str], by: tuple[str, ...] = GROUP_BY) -> str:
    return ",".join(f"{name}={labels.get(name, '')}" for name in by)


@dataclass(frozen=True, slots=True)
class NotifyEntry:
    """Notification-log entry of one alert: when it entered a group, when it was last sent."""

    admitted_at: float
    notified_at: float | None = None


def dedup(entry: NotifyEntry | None, now: float, timing: Timing) -> Decision | None:
    """None lets a never-seen alert through. A known alert is held: within the repeat interval of its
    last notification the reason is `repeat_interval` (the group timer re-sends it), otherwise it is
    already pending, muted or scheduled, and the reason is `deduplicated`."""
    if entry is None:
        return None
    if entry.notified_at is not None and now < entry.notified_at + timing.repeat_interval:
        return Decision("dedup", "repeat_interval", entry.notified_at + timing.repeat_interval)
    return Decision("dedup", "deduplicated")


@dataclass(slots=True)
class GroupState:
    """One aggregation group: alerts waiting for the next flush and alerts in the last notification."""

    key: str
    first_seen: float
    last_flush: float | None = None
    pending: list[str] = field(default_factory=list)
    notified: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> GroupState:
        return cls(**json.loads(raw))


def add_to_group(group: GroupState | None, key: str, alert_id: str, now: float) -> GroupState:
    """The group after `alert_id` joined it (a new group starts its `group_wait` now)."""
    g = group or GroupState(key=key, first_seen=now)
    if alert_id not in g.pending:
        g.pending = [*g.pending, alert_id]
    return g


def remove_from_group(group: GroupState, alert_id: str) -> GroupState:
    group.pending = [a for a in group.pending if a != alert_id]
    group.notified = [a for a in group.notified if a != alert_id]
    return group


def next_flush(group: GroupState, timing: Timing) -> float | None:
    """When the group is next sent, or None when nothing is left to send."""
    if group.pending:
        if group.last_flush is None:
            return group.first_seen + timing.group_wait
        return group.last_flush + timing.group_interval
    if group.notified and group.last_flush is not None:
        return group.last_flush + timing.repeat_interval
    return None


def group_decision(group: GroupState, now: float, timing: Timing) -> Decision:
    """`delivered` when the group is due now, else why it waits and until when."""
    at = next_flush(group, timing)
    if at is not None and now >= at:
        return Decision("group", "delivered", at)
    return Decision("group", "grouped_wait" if group.pending else "repeat_interval", at)


def flush(group: GroupState, now: float, firing: set[str]) -> tuple[GroupState, list[str]]:
    """Send the whole group, as Alertmanager does: the new alerts plus those already notified that are
    still firing. Returns the group after the flush and the ids to send (sorted, deterministic)."""
    send = sorted({*group.pending, *(a for a in group.notified if a in firing)} & firing)
    return GroupState(group.key, group.first_seen, now, [], send), send
