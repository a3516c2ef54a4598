"""Delivery to the real Alertmanager and to a loopback webhook, including a receiver outage.

Outage timeline (injected clock; backoff 1s doubling, capped at 300s):

    t:  0        60         60..1800 (run_once every 60s)       1800+300
        raise A  flush A -> both receivers down, retries        receivers back -> A, B, C delivered
                 raise B @200, raise C @900 (other ORIs)
"""

from __future__ import annotations

import time

import httpx
import pytest
import redis

from stream.alerting.lifecycle import Lifecycle
from stream.alerting.notifier import Notifier
from stream.alerting.receivers import AlertmanagerReceiver, WebhookReceiver
from stream.alerting.store import AlertStore
from stream.settings import AlertSettings

from .alerting_helpers import SECRET, T0, WebhookSink, free_port, make_alert, unique_ori

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _am_alerts(alertmanager_url: str, ori: str) -> list[dict]:  # type: ignore[type-arg]
    resp = httpx.get(f"{alertmanager_url}/api/v2/alerts", params={"filter": f'ori="{ori}"'}, timeout=5)
    resp.raise_for_status()
    return resp.json()  # type: ignore[no-any-return]


def test_alertmanager_shows_delivered_alert_with_labels(
    redis_client: redis.Redis, alertmanager_url: str
) -> None:
    clock = Clock(T0)
    ori = unique_ori()
    alert = make_alert("policy_violation", ori=ori, state="NY", severity="critical", raised_at=time.time())
    AlertStore(redis_client, prefix="t", now=clock).write([alert])
    notifier = Notifier(redis_client, [AlertmanagerReceiver(alertmanager_url)], prefix="t", now=clock)
    notifier.run_once()
    clock.t = T0 + 30
    assert notifier.run_once().sent == 1

    found = _am_alerts(alertmanager_url, ori)
    assert len(found) == 1
    assert found[0]["labels"] == {
        "alertname": "dmvwatch_policy_violation",
        "detector": "policy_violation",
        "severity": "critical",
        "ori": ori,
        "state": "NY",
    }
    notes = found[0]["annotations"]
    assert notes["runbook"] == "https://runbooks.example/dmvwatch/policy_violation.md"
    assert notes["alert_id"] == alert.alert_id and notes["title"] == alert.title
    assert found[0]["status"]["state"] == "active"

    # Resolving it sends a resolution (endsAt = now): Alertmanager stops listing it as active.
    clock.t = T0 + 600
    Lifecycle(redis_client, prefix="t", now=clock).resolve(alert.alert_id, "oncall-1", "confirmed, reported")
    assert notifier.run_once().sent == 1
    assert notifier.run_once().sent == 0  # announced once
    assert _am_alerts(alertmanager_url, ori) == []


def test_receivers_down_then_back_deliver_everything(
    redis_client: redis.Redis, alertmanager_url: str
) -> None:
    clock = Clock(T0)
    settings = AlertSettings(retry_initial_s=1.0, retry_max_s=300.0)  # type: ignore[call-arg]
    store = AlertStore(redis_client, prefix="t", now=clock)
    hook_port, dead_port = free_port(), free_port()
    hook_url = f"http://127.0.0.1:{hook_port}/hook"
    down = [
        AlertmanagerReceiver(f"http://127.0.0.1:{dead_port}", timeout_s=1),
        WebhookReceiver(hook_url, SECRET, timeout_s=1),
    ]
    notifier = Notifier(redis_client, down, settings, prefix="t", now=clock)
    alerts = {at: make_alert(ori=unique_ori(), raised_at=time.time()) for at in (0.0, 200.0, 900.0)}
    for step in range(0, 1801, 60):
        clock.t = T0 + step
        store.write([a for at, a in alerts.items() if at <= step])
        stats = notifier.run_once()
        assert stats.sent == 0
    pending = notifier.pending_deliveries()
    assert pending == {"alertmanager": 3, down[1].name: 3}
    # Backoff grew: the first notification (queued at t=30, 30 passes since) was tried on fewer passes.
    first = min(notifier.outbox.due("alertmanager", clock.t + 1e6), key=lambda item: item.created_at)
    assert first.created_at == T0 + 60 and 2 <= first.attempts < 29
    assert first.last_error == "ConnectError"

    with WebhookSink(port=hook_port) as sink:
        back = [AlertmanagerReceiver(alertmanager_url), WebhookReceiver(hook_url, SECRET)]
        restarted = Notifier(redis_client, back, settings, prefix="t", now=clock)
        clock.t = T0 + 1800 + 300
        stats = restarted.run_once()
        assert stats.sent == 6 and stats.failed == 0
        assert sorted(sink.alert_ids()) == sorted(a.alert_id for a in alerts.values())
    assert restarted.pending_deliveries() == {"alertmanager": 0, down[1].name: 0}
    for alert in alerts.values():
        assert [a["annotations"]["alert_id"] for a in _am_alerts(alertmanager_url, alert.ori or "")] == [
            alert.alert_id
        ]
