"""The notifier loop: alert stream -> stages -> outbox -> receivers, restartable at any point.

It reads new alert ids from `<prefix>:alerts` with a consumer group (`intake.py`), runs dedup,
silences, inhibition and grouping, and XACKs an entry only after the resulting state (notification log,
group, muted set) is in Redis. Due groups are flushed into per-receiver outboxes in the same transaction
that logs them as notified; outboxes are then drained with exponential backoff. Everything it knows lives
in Redis, so a new `Notifier` object (or process) continues where the last one stopped, and a receiver
outage only delays delivery.

Run it as `dmvwatch notify`, or in a worker thread with `run_forever(stop_event)`; tests drive
`run_once(now)` with an injected clock.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from stream.alerting.intake import StreamIntake
from stream.alerting.keys import Keys
from stream.alerting.lifecycle import Lifecycle, TransitionRefused
from stream.alerting.mute import Silence, mute_decision
from stream.alerting.outbox import Backoff, Item, Outbox
from stream.alerting.receivers import AlertmanagerReceiver, Receiver, WebhookReceiver
from stream.alerting.resolved import ResolvedAnnouncer
from stream.alerting.silences import SilenceStore
from stream.alerting.stages import (
    Decision,
    GroupState,
    Timing,
    alert_labels,
    dedup,
    group_decision,
    group_key,
)
from stream.alerting.state import NotifierState
from stream.alerting.store import AlertStore
from stream.findings import Alert, iso
from stream.settings import AlertSettings, Settings

log = logging.getLogger(__name__)
OnDecision = Callable[[str, str, str], None]  # (detector, stage, reason) -> None, e.g. a metrics counter
_FILTERS = ("severity", "detector", "ori", "state")


@dataclass(slots=True)
class RunStats:
    read: int = 0
    notifications: int = 0
    sent: int = 0
    failed: int = 0


class Notifier:
    def __init__(
        self,
        client: redis.Redis,
        receivers: Sequence[Receiver],
        settings: AlertSettings | None = None,
        *,
        prefix: str = "dmvq",
        group: str = "dmvwatch-notifier",
        consumer: str | None = None,
        now: Callable[[], float] = time.time,
        on_decision: OnDecision | None = None,
    ) -> None:
        s = settings or AlertSettings()  # type: ignore[call-arg]
        self.client, self.receivers, self.group = client, list(receivers), group
        self.consumer = consumer or f"{socket.gethostname()}-notifier"
        self.keys = Keys(prefix)
        self.store = AlertStore(client, prefix, now=now)
        self.lifecycle = Lifecycle(client, prefix, now=now)
        self.silences = SilenceStore(client, prefix, now=now)
        self.state = NotifierState(client, prefix)
        self.outbox = Outbox(client, prefix, Backoff(s.retry_initial_s, s.retry_max_s))
        self.timing = Timing.from_settings(s)
        self.rules = list(s.inhibit_rules)
        self.batch, self.poll_s = s.notifier_batch, s.notifier_poll_s
        self._now, self._on_decision = now, on_decision
        self.resolutions = ResolvedAnnouncer(
            client, prefix, self.store, self.state, self.outbox, self.receivers
        )
        self.intake = StreamIntake(client, self.keys.stream, group, self.consumer, self.batch)
        self._silences: list[Silence] = []

    @classmethod
    def from_settings(
        cls, settings: Settings, client: redis.Redis, *, metrics: object | None = None, **kwargs: Any
    ) -> Notifier:
        """Receivers from `settings.alerts`; `metrics` may be any object with
        `stage_decision(detector, stage, decision)` (stream.metrics.Metrics), used as `on_decision`."""
        a = settings.alerts
        receivers: list[Receiver] = []
        if a.alertmanager_url:
            receivers.append(AlertmanagerReceiver(a.alertmanager_url, timeout_s=a.delivery_timeout_s))
        secret = a.webhook_secret.get_secret_value().encode()
        receivers += [WebhookReceiver(u, secret, timeout_s=a.delivery_timeout_s) for u in a.webhook_urls]
        if metrics is not None and "on_decision" not in kwargs:
            kwargs["on_decision"] = metrics.stage_decision  # type: ignore[attr-defined]
        return cls(client, receivers, a, prefix=settings.redis.key_prefix, **kwargs)

    def run_once(self, now: float | None = None, block_ms: int | None = None) -> RunStats:
        """One pass: read new alerts, re-check muted ones, flush due groups, drain the outboxes."""
        at = self._now() if now is None else now
        stats = RunStats()
        self._silences = self.silences.current(at)
        for entry_id, alert_id in self.intake.read(block_ms):
            try:
                self._arrive(alert_id, at)
            except (ValueError, KeyError) as exc:  # a malformed alert hash (pydantic/JSON errors)
                log.error("alert %s cannot be staged (%s); left in the store", alert_id, type(exc).__name__)
            self.intake.ack(entry_id)  # only after the alert's stage state is stored
            stats.read += 1
        self._recheck_muted(at)
        for key in self.state.due_groups(at):
            stats.notifications += 1 if self._flush(key, at) else 0
        stats.notifications += self.resolutions.announce(at)
        for receiver in self.receivers:
            drained = self.outbox.drain(receiver, at, self.batch)
            stats.sent, stats.failed = stats.sent + drained.sent, stats.failed + drained.failed
        return stats

    def run_forever(self, stop_event: threading.Event) -> None:
        """Loop until `stop_event` is set; Redis outages are logged and retried, never fatal."""
        pause = 0.0
        while not stop_event.is_set():
            try:
                self.run_once(block_ms=int(self.poll_s * 1000))
                pause = 0.0
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                pause = min(30.0, max(0.5, pause * 2))
                log.warning("notifier: Redis unavailable (%s); retrying in %.1fs", type(exc).__name__, pause)
                stop_event.wait(pause)
            except Exception:  # the outer loop: a bug must not silently end on-call delivery
                pause = min(30.0, max(0.5, pause * 2))
                log.exception("notifier pass failed; retrying in %.1fs", pause)
                stop_event.wait(pause)

    def pending_deliveries(self) -> dict[str, int]:
        return {r.name: self.outbox.pending(r.name) for r in self.receivers}

    # -- stages --------------------------------------------------------------------------------------
    def _arrive(self, alert_id: str, now: float) -> None:
        alert = self.store.get(alert_id)
        if alert is None:
            return
        labels = alert_labels(alert)
        key = group_key(labels)
        held = dedup(self.state.entry(alert_id), now, self.timing)
        if held is None and alert.status in ("acknowledged", "resolved"):
            held = Decision("dedup", "deduplicated", None, f"already {alert.status}")
        if held is not None:
            self._record(alert, held)
            return
        muted = self._mute(alert, now)
        if muted is not None:
            self.state.mute(alert_id, key, now, muted, self.timing)
            self._mark_silenced(alert, muted)
            self._record(alert, muted)
            return
        waiting = group_decision(self.state.admit(alert_id, key, now, self.timing), now, self.timing)
        if not waiting.passed:
            self._record(alert, waiting)

    def _mute(self, alert: Alert, now: float) -> Decision | None:
        labels = alert_labels(alert)
        sources: list[dict[str, str]] = []
        for rule in self.rules:
            if all(labels.get(k, "") == v for k, v in rule.target.items()):
                wanted = {**rule.source, **{e: labels.get(e, "") for e in rule.equal}}
                filters = {k: (v or None) for k, v in wanted.items() if k in _FILTERS}
                sources += [alert_labels(a) for a in self.store.list(**filters, limit=50)]
        return mute_decision(labels, now, self._silences, sources, self.rules)

    def _recheck_muted(self, now: float) -> None:
        """Muted alerts whose silence ended or whose inhibiting alert resolved rejoin their group."""
        for alert_id, info in self.state.muted().items():
            alert = self.store.get(alert_id)
            if alert is None or alert.status in ("acknowledged", "resolved"):
                self.state.forget_muted(alert_id)
                continue
            if self._mute(alert, now) is not None:
                continue
            self.state.admit(alert_id, info["group"], now, self.timing)
            if alert.status == "silenced":
                # acknowledged or resolved in the meantime: nothing to undo
                with contextlib.suppress(TransitionRefused):
                    self.lifecycle.unsilence(alert_id)

    def _flush(self, key: str, now: float) -> bool:
        loaded: dict[str, Alert] = {}
        mutes: dict[str, Decision] = {}

        def decide(group: GroupState) -> tuple[set[str], dict[str, Decision]]:
            loaded.clear()
            mutes.clear()
            loaded.update({a.alert_id: a for a in self.store.get_many(group.pending + group.notified)})
            drop = {i for i in group.pending + group.notified if i not in loaded}
            for alert_id, alert in loaded.items():
                if alert.status != "firing":
                    drop.add(alert_id)
                elif (m := self._mute(alert, now)) is not None:
                    drop.add(alert_id)
                    mutes[alert_id] = m
            return drop, dict(mutes)

        def enqueue(pipe: redis.client.Pipeline, group: GroupState, sent: list[str]) -> None:
            note = {
                "version": "1",
                "group_key": group.key,
                "status": "firing",
                "notified_at": iso(now),
                "valid_for_s": self.timing.repeat_interval + self.timing.group_interval,
                "alerts": [loaded[i].to_json_dict() for i in sent],
            }
            nid = hashlib.sha256(f"{group.key}|{now!r}".encode()).hexdigest()[:24]
            for receiver in self.receivers:
                self.outbox.stage(pipe, receiver.name, Item(nid, note, now), now)

        sent = self.state.flush_group(key, now, self.timing, decide, enqueue)
        for alert_id, m in mutes.items():
            self._mark_silenced(loaded[alert_id], m)
            self._record(loaded[alert_id], m)
        for alert_id in sent:
            self._record(loaded[alert_id], Decision("group", "delivered", now))
        return bool(sent)

    def _mark_silenced(self, alert: Alert, decision: Decision) -> None:
        if decision.reason == "silenced" and alert.status == "firing":
            # acknowledged or resolved concurrently: the operator's change wins
            with contextlib.suppress(TransitionRefused):
                self.lifecycle.silence(alert.alert_id, f"silence:{decision.detail}")

    def _record(self, alert: Alert, decision: Decision) -> None:
        log.debug("alert %s: %s/%s %s", alert.alert_id, decision.stage, decision.reason, decision.detail)
        if self._on_decision is not None:
            self._on_decision(alert.detector, decision.stage, decision.reason)
