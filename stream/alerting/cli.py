"""`dmvwatch alerts ...` (on-call commands over the Redis alert store) and `dmvwatch notify`.

Thin: parse arguments, build clients from settings (`redis_client.connect`), call the store, the
lifecycle, the silence store or the notifier, print with rich.
"""

from __future__ import annotations

import json
import logging
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from stream.errors import ConfigError
from stream.findings import iso

out = Console()
err = Console(stderr=True)
alerts_app = typer.Typer(help="Inspect and handle alerts (Redis alert store).", no_args_is_help=True)
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="YAML settings file.")]
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """'90s', '30m', '2h', '1d', '1h30m' -> seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)([smhdw])", text.strip().lower())
    if not parts or "".join(n + u for n, u in parts) != text.strip().lower():
        raise typer.BadParameter(f"not a duration: {text!r} (use e.g. 30m, 2h, 1d, 1h30m)")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def _ctx(config: Path | None) -> tuple[Any, Any]:
    from stream.alerting.redis_client import connect
    from stream.settings import load_settings

    try:
        settings = load_settings(config)
    except ConfigError as exc:
        err.print(f"[red]configuration error[/red] {exc}")
        raise typer.Exit(2) from None
    return settings, connect(settings.redis)


def _store(config: Path | None) -> Any:
    from stream.alerting.store import AlertStore

    settings, client = _ctx(config)
    return AlertStore(client, settings.redis.key_prefix, settings.redis.alert_stream_maxlen)


@alerts_app.command("list")
def list_alerts(
    severity: Annotated[str | None, typer.Option(help="info, warning, high or critical.")] = None,
    detector: Annotated[str | None, typer.Option(help="Detector kind.")] = None,
    ori: Annotated[str | None, typer.Option(help="Requesting agency ORI.")] = None,
    state: Annotated[str | None, typer.Option(help="Destination state (two letters).")] = None,
    status: Annotated[str | None, typer.Option(help="firing, acknowledged, silenced or resolved.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    config: ConfigOpt = None,
) -> None:
    """List open alerts (or resolved ones with --status resolved)."""
    found = _store(config).list(
        severity=severity, detector=detector, ori=ori, state=state, status=status, limit=limit
    )
    table = Table("id", "first seen", "severity", "detector", "ori", "state", "status", "n", "title")
    for a in found:
        first = getattr(a, "first_seen", None)
        table.add_row(
            a.alert_id[:12],
            iso(first)[:19] if first else "",
            a.severity,
            a.detector,
            a.ori or "-",
            a.destination_state or "-",
            a.status,
            str(getattr(a, "occurrences", 1)),
            a.title,
        )
    out.print(table)
    out.print(f"{len(found)} alert(s)")


def _resolve_id(store: Any, prefix_or_id: str) -> str:
    """Accept the 12-character short id shown by `list`."""
    if store.get(prefix_or_id) is not None:
        return prefix_or_id
    matches = [a.alert_id for a in store.list(limit=10_000) if a.alert_id.startswith(prefix_or_id)]
    if len(matches) != 1:
        err.print(f"[red]no single open alert matches {prefix_or_id!r}[/red]")
        raise typer.Exit(1)
    return matches[0]


@alerts_app.command()
def show(alert_id: str, config: ConfigOpt = None) -> None:
    """Print one alert (JSON, with evidence) and its audit history."""
    from stream.alerting.lifecycle import Lifecycle

    store = _store(config)
    full = _resolve_id(store, alert_id)
    alert = store.get(full)
    out.print_json(json.dumps(alert.to_json_dict() if alert else {}, default=str))
    table = Table("at", "from", "to", "actor", "reason", title="history")
    for e in Lifecycle(store.client, store.keys.prefix).history(full):
        table.add_row(iso(e.at)[:19], e.from_status or "-", e.to_status, e.actor, e.reason)
    out.print(table)


def _move(alert_id: str, target: str, actor: str, reason: str, config: Path | None) -> None:
    from stream.alerting.lifecycle import Lifecycle, TransitionRefused

    store = _store(config)
    full = _resolve_id(store, alert_id)
    life = Lifecycle(store.client, store.keys.prefix)
    try:
        before = (
            life.acknowledge(full, actor, reason)
            if target == "acknowledged"
            else life.resolve(full, actor, reason)
        )
    except TransitionRefused as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    out.print(f"{full}: {before} -> {target} by {actor}")


@alerts_app.command()
def ack(
    alert_id: str,
    actor: Annotated[str, typer.Option(help="Who acknowledges (recorded in the audit stream).")],
    reason: Annotated[str, typer.Option(help="Why / what you are doing about it.")] = "",
    config: ConfigOpt = None,
) -> None:
    """Acknowledge an alert (stops repeat notifications; records the time to acknowledge)."""
    _move(alert_id, "acknowledged", actor, reason, config)


@alerts_app.command()
def resolve(
    alert_id: str,
    actor: Annotated[str, typer.Option(help="Who resolves (recorded in the audit stream).")],
    reason: Annotated[str, typer.Option(help="Outcome, e.g. 'false positive: ...'.")] = "",
    config: ConfigOpt = None,
) -> None:
    """Resolve an alert (it leaves the open indexes)."""
    _move(alert_id, "resolved", actor, reason, config)


@alerts_app.command()
def tail(
    from_start: Annotated[bool, typer.Option(help="Print the stream from its start first.")] = False,
    count: Annotated[int, typer.Option(help="Stop after this many alerts (0: never).")] = 0,
    config: ConfigOpt = None,
) -> None:
    """Follow new alerts live (XREAD on the alert stream; Ctrl-C stops)."""
    from stream.alerting.keys import text

    store = _store(config)
    last, seen = ("0" if from_start else "$"), 0
    while count == 0 or seen < count:
        for _s, rows in store.client.xread({store.keys.stream: last}, block=1000, count=100) or []:
            for entry_id, fields in rows:
                last = text(entry_id)
                alert = store.get(text(fields.get(b"alert_id", fields.get("alert_id", ""))))
                if alert is not None:
                    out.print(
                        f"{alert.raised_at or ''} {alert.severity:8} {alert.detector:20} "
                        f"{alert.ori or '-':9} {alert.alert_id[:12]} {alert.title}"
                    )
                    seen += 1


def notify(
    config: ConfigOpt = None,
    once: Annotated[bool, typer.Option(help="One pass (read, stage, deliver), then exit.")] = False,
) -> None:
    """Run the notifier: alert stream -> dedup/silence/inhibit/group -> Alertmanager and webhooks."""
    from stream.alerting.notifier import Notifier
    from stream.alerting.redis_client import describe

    settings, client = _ctx(config)
    logging.basicConfig(
        level=settings.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    notifier = Notifier.from_settings(settings, client)
    names = ", ".join(r.name for r in notifier.receivers) or "none (alerts are staged, not sent)"
    err.print(f"notifier on {describe(settings.redis)}; receivers: {names}")
    if once:
        stats = notifier.run_once(time.time())
        out.print(
            f"read {stats.read}, notifications {stats.notifications}, sent {stats.sent}, "
            f"failed {stats.failed}; pending {notifier.pending_deliveries()}"
        )
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    notifier.run_forever(stop)


def register(app: typer.Typer) -> None:
    from stream.alerting.cli_silence import silence_app

    alerts_app.add_typer(silence_app, name="silence")
    app.add_typer(alerts_app, name="alerts")
    app.command("notify")(notify)
