"""Notifier on the real Redis with a loopback webhook receiver and an injected clock.

Timeline of the first test (Alertmanager defaults: group_wait 30s, repeat_interval 4h):

    t:  0      10     20     31           100 (restart)      31+4h        31+8h (acked)
        raise  raise  raise  -> notify #1  raise, new objects  -> notify #2  nothing
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest
import redis

from stream.alerting.lifecycle import Lifecycle
from stream.alerting.notifier import Notifier
from stream.alerting.receivers import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookReceiver, verify
from stream.alerting.silences import SilenceStore
from stream.alerting.stages import DECISION_PAIRS
from stream.alerting.store import AlertStore
from stream.settings import AlertSettings

from .alerting_helpers import SECRET, T0, WebhookSink, make_alert

pytestmark = pytest.mark.integration
REPEAT = 14_400.0


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _notifier(client: redis.Redis, url: str, clock: Clock, decisions: Counter[str] | None = None) -> Notifier:
    def record(detector: str, stage: str, reason: str) -> None:
        assert (stage, reason) in DECISION_PAIRS  # the metrics module pre-creates exactly these
        if decisions is not None:
            decisions[reason] += 1

    hook = WebhookReceiver(url, SECRET, clock=time.time)
    return Notifier(client, [hook], AlertSettings(), prefix="t", now=clock, on_decision=record)  # type: ignore[call-arg]


def test_one_notification_per_repeat_interval_across_restart(redis_client: redis.Redis) -> None:
    clock = Clock(T0)
    decisions: Counter[str] = Counter()
    alert = make_alert(ori="XXSYN0101")
    with WebhookSink() as sink:
        store = AlertStore(redis_client, prefix="t", now=clock)
        notifier = _notifier(redis_client, sink.url, clock, decisions)
        for at in (T0, T0 + 10, T0 + 20):
            clock.t = at
            store.write([alert])
            notifier.run_once()
        assert sink.requests == []  # still inside group_wait
        clock.t = T0 + 31
        notifier.run_once()
        assert sink.alert_ids() == [alert.alert_id]

        # Restart: new objects, the same finding derived again from replayed events.
        clock.t = T0 + 100
        store = AlertStore(redis_client, prefix="t", now=clock)
        notifier = _notifier(redis_client, sink.url, clock, decisions)
        assert store.write([alert]) == 0
        notifier.run_once()
        clock.t = T0 + 31 + REPEAT - 1
        notifier.run_once()
        assert len(sink.requests) == 1

        clock.t = T0 + 31 + REPEAT
        notifier.run_once()
        assert sink.alert_ids() == [alert.alert_id, alert.alert_id]

        # An acknowledged alert stops repeating.
        Lifecycle(redis_client, prefix="t", now=clock).acknowledge(alert.alert_id, "oncall-1", "on it")
        clock.t = T0 + 31 + 2 * REPEAT
        notifier.run_once()
        assert len(sink.requests) == 2

    stored = store.get(alert.alert_id)
    assert stored is not None and stored.occurrences == 4  # type: ignore[attr-defined]
    assert decisions["delivered"] == 2 and decisions["grouped_wait"] == 1
    headers, body = sink.requests[0]
    assert verify(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER], now=time.time())
    assert not verify(b"wrong-key", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER], time.time())
    doc = json.loads(body)
    assert doc["alerts"][0]["runbook"] == "https://runbooks.example/dmvwatch/bulk_sweep.md"


def test_crash_before_xack_does_not_notify_twice(redis_client: redis.Redis) -> None:
    clock = Clock(T0)
    alert = make_alert(ori="XXSYN0102")
    with WebhookSink() as sink:
        AlertStore(redis_client, prefix="t", now=clock).write([alert])
        crashing = _notifier(redis_client, sink.url, clock)

        def boom(*args: object, **kwargs: object) -> None:
            raise redis.ConnectionError("simulated crash before XACK")

        crashing.intake.ack = boom  # type: ignore[method-assign]
        with pytest.raises(redis.ConnectionError):
            crashing.run_once()
        assert redis_client.xpending("t:alerts", "dmvwatch-notifier")["pending"] == 1

        restarted = _notifier(redis_client, sink.url, clock)
        clock.t = T0 + 31
        restarted.run_once()
        restarted.run_once()
        assert sink.alert_ids() == [alert.alert_id]
        assert redis_client.xpending("t:alerts", "dmvwatch-notifier")["pending"] == 0


def test_silenced_alert_is_recorded_then_delivered_after_expiry(redis_client: redis.Redis) -> None:
    clock = Clock(T0)
    decisions: Counter[str] = Counter()
    alert = make_alert(ori="XXSYN0103", state="NY")
    other = make_alert(ori="XXSYN0104", state="NY")
    with WebhookSink() as sink:
        silence = SilenceStore(redis_client, prefix="t", now=clock).add(
            {"ori": "XXSYN0103"}, author="oncall-1", comment="known audit exercise", duration_s=7200
        )
        notifier = _notifier(redis_client, sink.url, clock, decisions)
        clock.t = T0 + 1
        AlertStore(redis_client, prefix="t", now=clock).write([alert, other])
        for at in (T0 + 1, T0 + 40, T0 + 3600, T0 + 7199):
            clock.t = at
            notifier.run_once()
        assert sink.alert_ids() == [other.alert_id]
        stored = notifier.store.get(alert.alert_id)
        assert stored is not None and stored.status == "silenced"
        assert stored.silenced_by == f"silence:{silence.id}"  # type: ignore[attr-defined]

        clock.t = T0 + 7200  # the silence ends
        notifier.run_once()
        clock.t = T0 + 7200 + 30  # group_wait of the re-formed group
        notifier.run_once()
        assert sink.alert_ids() == [other.alert_id, alert.alert_id]
    stored = notifier.store.get(alert.alert_id)
    assert stored is not None and stored.status == "firing"
    assert decisions["silenced"] == 1


def test_policy_leak_inhibits_policy_violation_until_resolved(redis_client: redis.Redis) -> None:
    clock = Clock(T0)
    leak = make_alert("policy_leak", ori="XXSYN0105", state="WA", severity="critical")
    violation = make_alert("policy_violation", ori="XXSYN0105", state="WA")
    elsewhere = make_alert("policy_violation", ori="XXSYN0105", state="OR")
    decisions: Counter[str] = Counter()
    with WebhookSink() as sink:
        AlertStore(redis_client, prefix="t", now=clock).write([leak, violation, elsewhere])
        notifier = _notifier(redis_client, sink.url, clock, decisions)
        notifier.run_once()
        clock.t = T0 + 30
        notifier.run_once()
        assert sorted(sink.alert_ids()) == sorted([leak.alert_id, elsewhere.alert_id])
        assert decisions["inhibited"] == 1

        clock.t = T0 + 600
        Lifecycle(redis_client, prefix="t", now=clock).resolve(leak.alert_id, "oncall-1", "switch fixed")
        notifier.run_once()
        clock.t = T0 + 630
        notifier.run_once()
        assert sink.alert_ids()[-1] == violation.alert_id
        bodies = [json.loads(body) for _, body in sink.requests]
        resolved = [b for b in bodies if b["status"] == "resolved"]
        assert [[a["alert_id"] for a in b["alerts"]] for b in resolved] == [[leak.alert_id]]
        assert resolved[0]["alerts"][0]["status"] == "resolved"


def test_run_forever_in_a_thread_delivers_and_stops(redis_client: redis.Redis) -> None:
    """Wall-clock mode, as in the worker thread: blocking reads, real time, clean stop."""
    settings = AlertSettings(group_wait_s=0.0, notifier_poll_s=0.2)  # type: ignore[call-arg]
    alert = make_alert(ori="XXSYN0106", raised_at=time.time())
    with WebhookSink() as sink:
        notifier = Notifier(redis_client, [WebhookReceiver(sink.url, SECRET)], settings, prefix="t")
        stop = threading.Event()
        thread = threading.Thread(target=notifier.run_forever, args=(stop,), daemon=True)
        thread.start()
        AlertStore(redis_client, prefix="t").write([alert])
        deadline = time.monotonic() + 10
        while not sink.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        thread.join(timeout=5)
        assert not thread.is_alive()
        assert sink.alert_ids() == [alert.alert_id]
