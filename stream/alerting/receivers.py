"""Receivers: Prometheus Alertmanager (v2 API) and generic webhooks signed with HMAC-SHA256.

A receiver takes one *notification* (a group of alert documents, as queued in the outbox) and either
returns or raises `DeliveryError(recoverable=...)`. Retries are not done here: the outbox schedules them,
so an outage survives restarts. Webhook bodies are signed over `"<timestamp>.<body>"` and carry
`X-DMVWatch-Timestamp` and `X-DMVWatch-Signature: sha256=<hex>`; receivers check both (see `verify`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any, Protocol

import httpx

from stream.errors import SinkUnavailable
from stream.findings import iso

SIGNATURE_HEADER = "X-DMVWatch-Signature"
TIMESTAMP_HEADER = "X-DMVWatch-Timestamp"
_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class DeliveryError(SinkUnavailable):
    """A delivery failed. `recoverable=False` (e.g. HTTP 400) means retrying the same body is useless."""

    def __init__(self, receiver: str, reason: str, *, recoverable: bool) -> None:
        self.receiver, self.reason, self.recoverable = receiver, reason, recoverable
        super().__init__(f"{receiver}: {reason}")


class Receiver(Protocol):
    name: str

    def send(self, notification: dict[str, Any]) -> None: ...


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(
    secret: bytes, timestamp: str, body: bytes, signature: str, now: float, tolerance_s: float = 300.0
) -> bool:
    """Receiver-side check: the signature matches and the timestamp is fresh (limits replays)."""
    try:
        fresh = abs(now - float(timestamp)) <= tolerance_s
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


def am_alert(doc: dict[str, Any], ends_at: str | None = None) -> dict[str, Any]:
    """One alert document -> Alertmanager v2 `postableAlert` (labels identify, annotations describe).

    `ends_at`: for a firing alert, how long Alertmanager should hold it active without hearing from us
    (we re-send every repeat interval, unlike Prometheus which re-sends every evaluation); for a resolved
    alert, the resolution time."""
    labels = {
        "alertname": f"dmvwatch_{doc['detector']}",
        "detector": doc["detector"],
        "severity": doc["severity"],
        "ori": doc.get("ori") or "",
        "state": doc.get("destination_state") or "",
    }
    annotations = {
        "title": doc.get("title", ""),
        "summary": doc.get("summary") or doc.get("title", ""),
        "runbook": doc.get("runbook") or "",
        "alert_id": doc["alert_id"],
    }
    out: dict[str, Any] = {
        "labels": {k: v for k, v in labels.items() if v},
        "annotations": {k: v for k, v in annotations.items() if v},
    }
    if doc.get("raised_at"):
        out["startsAt"] = doc["raised_at"]
    if ends_at:
        out["endsAt"] = ends_at
    return out


def _post(client: httpx.Client, name: str, url: str, **kwargs: Any) -> None:
    try:
        resp = client.post(url, **kwargs)
    except httpx.HTTPError as exc:  # connect refused, timeout, reset: the receiver may come back
        raise DeliveryError(name, type(exc).__name__, recoverable=True) from None
    if resp.status_code >= 300:
        code = resp.status_code
        raise DeliveryError(name, f"http_{code}", recoverable=code in _RETRYABLE_STATUS or code >= 500)


class AlertmanagerReceiver:
    """POST /api/v2/alerts with every alert of the notification."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 5.0,
        name: str = "alertmanager",
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self._clock = clock
        self.url = base_url.rstrip("/") + "/api/v2/alerts"
        self._client = client or httpx.Client(timeout=timeout_s)

    def send(self, notification: dict[str, Any]) -> None:
        # endsAt from the wall clock at send time: a delivery delayed by an outage still gets a full
        # validity period, and a resolution is dated when Alertmanager hears of it.
        sent_at = self._clock()
        valid_for = float(notification.get("valid_for_s") or 0)
        if notification.get("status") == "resolved":
            ends: str | None = iso(sent_at)
        else:
            ends = iso(sent_at + valid_for) if valid_for else None
        alerts = [am_alert(a, ends) for a in notification["alerts"]]
        _post(self._client, self.name, self.url, json=alerts)


class WebhookReceiver:
    """POST the notification as JSON, signed; the timestamp is taken at send time (retries re-sign)."""

    def __init__(
        self,
        url: str,
        secret: bytes,
        *,
        timeout_s: float = 5.0,
        name: str | None = None,
        clock: Callable[[], float] = time.time,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = url
        self.name = name or webhook_name(url)
        self._secret = secret
        self._clock = clock
        self._client = client or httpx.Client(timeout=timeout_s)

    def send(self, notification: dict[str, Any]) -> None:
        body = json.dumps({"receiver": self.name, **notification}, separators=(",", ":")).encode()
        ts = str(int(self._clock()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: ts,
            SIGNATURE_HEADER: sign(self._secret, ts, body),
        }
        _post(self._client, self.name, self.url, content=body, headers=headers)


def webhook_name(url: str) -> str:
    """A stable receiver name for a URL (its outbox key survives restarts; the URL itself is not shown,
    since webhook URLs often embed tokens)."""
    return "webhook-" + hashlib.sha256(url.encode()).hexdigest()[:10]
