"""`dmvwatch simulate`: national DMV-query traffic with labelled misuse scenarios, to a file or to Kafka.

Examples:
    dmvwatch simulate --out out/day.jsonl.gz --duration 1d --scale 0.1 \\
        --scenarios deploy/scenarios/demo.yaml --registry-out out/registry.jsonl --labels-out out/labels.jsonl
    dmvwatch simulate --to-kafka --rate 500 --duration 2h          # live: event ts = wall clock
    dmvwatch simulate --to-kafka --speedup 60 --duration 1d --scale 0.05   # one day in 24 minutes
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:  # the simulator is imported when the command runs, not when dmvwatch starts
    from rich.console import Console

    from stream.simulate.engine import Simulation
    from stream.simulate.sink import Pacer, Sink

# Mean output events/s at scale 1 (queries, MSQ children and responses of a weekday, measured): `--rate`
# sets the scale from it so that live traffic averages the requested rate.
EVENTS_PER_S_AT_SCALE_1 = 25.3
DEFAULT_START = datetime(2026, 10, 1, tzinfo=UTC)


def _parse_start(text: str | None, live: bool) -> datetime:
    if live:
        return datetime.fromtimestamp(int(time.time()), UTC)
    if not text:
        return DEFAULT_START
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError as exc:
        raise ValueError(f"--start must be RFC 3339, got {text!r}") from exc


def simulate(
    out: Path = typer.Option(None, "--out", help="JSONL output (gzip when it ends in .gz)."),
    to_kafka: bool = typer.Option(False, "--to-kafka", help="Produce to Kafka instead of a file."),
    bootstrap: str = typer.Option(None, help="Kafka bootstrap (default: settings kafka.bootstrap_servers)."),
    topic: str = typer.Option(None, help="Kafka topic (default: first of settings kafka.input_topics)."),
    rate: float = typer.Option(0.0, help="Live mode: mean events/s; event ts = wall clock; sets --scale."),
    speedup: float = typer.Option(
        0.0, help="Compressed time: simulated seconds per wall second (0: flat out)."
    ),
    keys: str = typer.Option("none", help="Kafka message keys: none or random (a tap does not key by ORI)."),
    seed: int = typer.Option(1, help="Random seed: same seed and options give byte-identical files."),
    start: str = typer.Option(None, help="RFC 3339 start (default 2026-10-01T00:00:00Z; live: now)."),
    duration: str = typer.Option("1d", help="Simulated span, e.g. 6h, 1d, 7d."),
    agencies: int = typer.Option(18_000, min=200, help="Number of synthetic agencies."),
    scale: float = typer.Option(
        1.0, min=1e-6, help="Volume scale: 1.0 = ~795k logical DMV queries a weekday."
    ),
    fan_out: int = typer.Option(
        8, min=1, max=50, help="Per-state children of a multi-state (NL) query (real: ~50)."
    ),
    scenarios: Path = typer.Option(None, help="Scenario YAML (deploy/scenarios/*.yaml)."),
    clear_text_share: float = typer.Option(
        0.0, min=0.0, max=1.0, help="Share of queries with clear-text name/dob/oln/plate."
    ),
    malformed_share: float = typer.Option(
        0.0, min=0.0, max=1.0, help="Share of lines followed by a broken copy."
    ),
    duplicate_share: float = typer.Option(
        0.0, min=0.0, max=1.0, help="Share of events redelivered later (same event_id)."
    ),
    late_share: float = typer.Option(
        0.005, min=0.0, max=1.0, help="Share of events emitted late (up to --late-max)."
    ),
    late_max: str = typer.Option("3m", help="Maximum lateness of late events."),
    no_response_share: float = typer.Option(
        0.01, min=0.0, max=1.0, help="Share of queries that never get a response."
    ),
    enrich: bool = typer.Option(False, help="Add the switch's `agency` enrichment to every query."),
    registry_out: Path = typer.Option(None, help="Write the agency registry (JSONL) here."),
    labels_out: Path = typer.Option(None, help="Write scenario ground-truth labels (JSONL) here."),
    quiet: bool = typer.Option(False, help="No progress bar or summary."),
) -> None:
    """Simulate national DMV-query traffic (brief 7.4) with labelled misuse scenarios (brief 7.5)."""
    import orjson
    from rich.console import Console

    from stream.errors import WatchError
    from stream.simulate.agencies import write_registry
    from stream.simulate.engine import SimConfig, Simulation
    from stream.simulate.sink import Pacer
    from stream.simulate.spec import load_specs, parse_duration
    from stream.simulate.summary import render

    console = Console(stderr=True)
    live = rate > 0
    if not to_kafka and out is None:
        raise typer.BadParameter("give --out FILE.jsonl[.gz] or --to-kafka")
    if live and not to_kafka:
        raise typer.BadParameter("--rate is for --to-kafka (live traffic)")
    try:
        cfg = SimConfig(
            seed=seed,
            start=_parse_start(start, live),
            duration_s=parse_duration(duration),
            agencies=agencies,
            scale=rate / EVENTS_PER_S_AT_SCALE_1 if live else scale,
            fan_out=fan_out,
            clear_text_share=clear_text_share,
            malformed_share=malformed_share,
            duplicate_share=duplicate_share,
            late_share=late_share,
            late_max_s=parse_duration(late_max),
            no_response_share=no_response_share,
            enrich=enrich,
            scenarios=load_specs(scenarios) if scenarios else [],
        )
    except (WatchError, ValueError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    try:
        sim = Simulation(cfg)
        if registry_out:
            write_registry(sim.registry, registry_out)
        if labels_out:
            labels_out.write_bytes(b"".join(orjson.dumps(lab) + b"\n" for lab in sim.labels()))
        sink = _sink(out, to_kafka, bootstrap, topic, keys, seed)
        seconds = _pump(
            sim,
            sink,
            Pacer(sim.start_ms, 1.0 if live else speedup) if live or speedup else None,
            None if quiet else console,
        )
    except WatchError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    if not quiet:
        render(sim.stats, sim.registry, sim.labels(), seconds, console)


def _sink(
    out: Path | None, to_kafka: bool, bootstrap: str | None, topic: str | None, keys: str, seed: int
) -> Sink:
    from stream.simulate.sink import open_sink

    if not to_kafka:
        return open_sink(out, None, None, keys, seed)
    from stream.settings import load_settings

    kafka = load_settings().kafka
    conf = kafka.client_config()
    if bootstrap:
        conf["bootstrap.servers"] = bootstrap
    return open_sink(None, conf, topic or kafka.input_topics[0], keys, seed)


def _pump(sim: Simulation, sink: Sink, pacer: Pacer | None, console: Console | None) -> float:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    total = sim.end_ms - sim.start_ms
    t0 = time.perf_counter()
    with Progress(
        TextColumn("simulating"),
        BarColumn(),
        TextColumn("{task.fields[events]:,} events"),
        TimeRemainingColumn(),
        console=console,
        disable=console is None,
    ) as bar:
        task = bar.add_task("sim", total=total, events=0)
        n = 0
        try:
            for lines in sim.run():
                if pacer is not None:
                    pacer.write_spread(sink, lines, *sim.chunk)
                else:
                    sink.write(lines)
                n += len(lines)
                bar.update(task, completed=sim.chunk[1] - sim.start_ms, events=n)
        finally:
            sink.close()
    return time.perf_counter() - t0


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
