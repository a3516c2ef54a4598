"""`dmvwatch run` (live worker) and `dmvwatch replay` (archived files): thin commands over stream.app."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from stream.errors import ConfigError

console = Console(stderr=True)


def _settings(config: Path | None, policy: Path | None = None):  # type: ignore[no-untyped-def]
    from stream.settings import load_settings

    overrides = {"policy_path": policy} if policy else {}
    try:
        return load_settings(config, **overrides)
    except ConfigError as exc:
        console.print(f"[red]configuration error[/red] {exc}")
        raise typer.Exit(2) from None


def _logging(level: str) -> None:
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )


def run(
    config: Annotated[Path | None, typer.Option(help="YAML settings file.")] = None,
    policy: Annotated[Path | None, typer.Option(help="Policy pack (overrides settings).")] = None,
    notify: Annotated[bool, typer.Option(help="Run the notifier (Alertmanager/webhooks) in-process.")] = True,
) -> None:
    """Consume the live query stream and raise alerts (Ctrl-C or SIGTERM stops gracefully)."""
    from prometheus_client import CollectorRegistry

    from stream.aggregates import MonthlyAggregator
    from stream.alerting.redis_client import connect
    from stream.alerting.store import AlertStore
    from stream.app import build_core
    from stream.export.store import AggregateStore
    from stream.metrics import Metrics
    from stream.worker import Worker

    settings = _settings(config, policy)
    _logging(settings.log_level)
    try:
        core = build_core(settings, live=True)
    except ConfigError as exc:
        console.print(f"[red]configuration error[/red] {exc}")
        raise typer.Exit(2) from None
    metrics = Metrics(CollectorRegistry())
    if settings.metrics.port:
        metrics.serve(settings.metrics.host, settings.metrics.port)
    client = connect(settings.redis, decode_responses=False)
    prefix = settings.redis.key_prefix
    store = AlertStore(client, prefix=prefix, stream_maxlen=settings.redis.alert_stream_maxlen)
    metrics.watch_open_alerts(store.open_count)
    worker = Worker(
        core,
        client,
        metrics,
        store,
        AggregateStore(client, prefix=prefix),
        MonthlyAggregator,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    notifier_thread = None
    if notify and (settings.alerts.alertmanager_url or settings.alerts.webhook_urls):
        from stream.alerting.notifier import Notifier

        notifier = Notifier.from_settings(settings, client, metrics=metrics)
        notifier_thread = threading.Thread(target=notifier.run_forever, args=(stop,), daemon=True)
        notifier_thread.start()
    logging.getLogger("dmvwatch").info("worker started: topics %s", settings.kafka.input_topics)
    worker.run(stop)
    if notifier_thread is not None:
        notifier_thread.join(timeout=10)


def replay(
    files: Annotated[list[Path], typer.Argument(help="JSONL or .gz files of events, in order.")],
    alerts_out: Annotated[Path | None, typer.Option(help="Write alerts (alert.v1 JSONL) here.")] = None,
    aggregates_out: Annotated[Path | None, typer.Option(help="Write monthly aggregates (JSON).")] = None,
    dead_letters_out: Annotated[Path | None, typer.Option(help="Write rejected lines here.")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML settings file.")] = None,
    policy: Annotated[Path | None, typer.Option(help="Policy pack (overrides settings).")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Run the monitor's pipeline over archived events, with no Kafka or Redis."""
    from stream.aggregates import MonthlyAggregator
    from stream.app import build_core
    from stream.replay import Replayer, alert_json, iter_lines

    settings = _settings(config, policy)
    _logging("WARNING")
    try:
        core = build_core(settings, live=False)
    except ConfigError as exc:
        console.print(f"[red]configuration error[/red] {exc}")
        raise typer.Exit(2) from None
    replayer = Replayer(core, MonthlyAggregator())
    out = alerts_out.open("wb") if alerts_out else None
    dlq = dead_letters_out.open("wb") if dead_letters_out else None
    total = sum(f.stat().st_size for f in files)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=quiet) as bar:
        job = bar.add_task("replaying (bytes)", total=total)
        for path in files:
            done = 0
            for n, line in enumerate(iter_lines(path), 1):
                for alert in replayer.feed(line, dlq, f"{path.name}:{n}"):
                    if out:
                        out.write(alert_json(alert) + b"\n")
                done += len(line) + 1
                if n % 20000 == 0:
                    bar.update(job, advance=done)
                    done = 0
            bar.update(job, advance=done)
    for alert in replayer.finish():
        if out:
            out.write(alert_json(alert) + b"\n")
    for fh in (out, dlq):
        if fh:
            fh.close()
    res = replayer.result
    if aggregates_out:
        aggregates_out.write_bytes(orjson.dumps(res.aggregates, option=orjson.OPT_SORT_KEYS))
    table = Table(title="replay summary")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("events accepted", str(res.events))
    table.add_row("duplicates (redeliveries)", str(res.duplicates))
    table.add_row("late events", str(res.late))
    for reason, n in sorted(res.dead_letters.items()):
        table.add_row(f"dead letters: {reason}", str(n))
    by_detector: dict[str, int] = {}
    for alert in res.alerts.values():
        by_detector[alert.detector] = by_detector.get(alert.detector, 0) + 1
    for det, n in sorted(by_detector.items()):
        table.add_row(f"alerts: {det}", str(n))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(replay)
