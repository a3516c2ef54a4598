"""Helpers for the alert-path integration tests: alert factory and a loopback webhook receiver."""

from __future__ import annotations

import json
import secrets
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from stream.findings import Alert, Finding, to_alert

T0 = 1_772_409_600.0  # 2026-03-02T00:00:00Z
SECRET = b"test-webhook-secret"


def unique_ori() -> str:
    """A synthetic ORI unique to this test run, so tests sharing one Alertmanager never collide."""
    return "XXSYN" + secrets.token_hex(2).upper()


def make_alert(
    detector: str = "bulk_sweep",
    ori: str | None = None,
    state: str | None = "WA",
    window_start: float = T0,
    severity: str = "high",
    raised_at: float | None = None,
) -> Alert:
    ori = ori or unique_ori()
    finding = Finding(
        detector=detector,
        severity=severity,
        ori=ori,
        group_key=f"{ori}|{state}|op-1",
        window_start=window_start,
        window_end=window_start + 3599,
        title=f"{detector} from {ori}",
        summary="synthetic test finding",
        evidence={"observed": 120, "threshold": 50, "sample_event_ids": ["q-1", "q-2"]},
        destination_state=state,
    )
    return to_alert(finding, "policy-v1", raised_at, runbook_base="https://runbooks.example/dmvwatch")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WebhookSink:
    """A tiny HTTP receiver on loopback that records every request (headers and raw body)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.requests: list[tuple[dict[str, str], bytes]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                sink.requests.append(({k: v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def __enter__(self) -> WebhookSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def alert_ids(self) -> list[str]:
        """Alert ids per received body, in arrival order (one entry per alert per notification)."""
        return [a["alert_id"] for _, body in self.requests for a in json.loads(body)["alerts"]]
