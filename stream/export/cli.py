"""`dmvwatch export`: write a month's oversight export, and `dmvwatch export verify DIR`.

Counters come from Redis (settings `redis`) or from a file (`--from-file`, as written by
`dmvwatch replay --aggregates-out`). Exit codes: 0 ok, 1 verification failed, 2 bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from stream.errors import ConfigError

if TYPE_CHECKING:
    from stream.export.store import AggregateStore

console = Console(stderr=True)
export_app = typer.Typer(help="Monthly oversight exports (CSV, JSON, HTML) with a signed manifest.")
_STEPS = ("load", "tables", "csv", "json", "html", "write", "manifest")


def _settings(config: Path | None):  # type: ignore[no-untyped-def]
    from stream.settings import load_settings

    try:
        return load_settings(config)
    except ConfigError as exc:
        console.print(f"[red]configuration error[/red] {exc}")
        raise typer.Exit(2) from None


def _load(from_file: Path | None, config: Path | None, month: str) -> dict[str, dict[str, int]]:
    from stream.export.store import AggregateStore, load_json

    if from_file is not None:
        try:
            return load_json(from_file)
        except (OSError, ValueError, KeyError) as exc:
            console.print(f"[red]cannot read aggregates[/red] {from_file}: {exc}")
            raise typer.Exit(2) from None
    from stream.alerting.redis_client import connect

    settings = _settings(config)
    store = AggregateStore(connect(settings.redis), prefix=settings.redis.key_prefix)
    return read_for_export(store, month)


def read_for_export(store: AggregateStore, month: str) -> dict[str, dict[str, int]]:
    """The month in full; earlier months (the trend) only by their `s|` totals when they have them."""
    from stream.export.summary import TREND_METRICS
    from stream.export.writer import TREND_MONTHS

    totals = ["s|events", *(f"s|{k}" for k in TREND_METRICS)]
    out = {month: store.read(month)}
    for m in [m for m in store.months() if m < month][-(TREND_MONTHS - 1) :]:
        found = store.read_fields(m, totals)
        out[m] = found if "s|events" in found else store.read(m)
    return out


@export_app.callback(invoke_without_command=True)
def export(
    ctx: typer.Context,
    month: Annotated[str | None, typer.Option(help="Month to export, YYYY-MM (UTC).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv, json, html or all.")] = "all",
    out: Annotated[Path | None, typer.Option(help="Output directory.")] = None,
    from_file: Annotated[Path | None, typer.Option(help="Aggregates JSON instead of Redis.")] = None,
    public: Annotated[bool, typer.Option(help="Public release: hide small counts.")] = False,
    suppress_below: Annotated[
        int | None,
        typer.Option(min=2, help="With --public: counts below K shown as '<K' (default: settings)."),
    ] = None,
    config: Annotated[Path | None, typer.Option(help="YAML settings file.")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Export one month: `dmvwatch export --month 2026-10 --format all --out DIR`."""
    if ctx.invoked_subcommand is not None:
        return
    from stream.export.writer import FORMATS, export_month

    if month is None or out is None:
        console.print("[red]--month and --out are required[/red] (or use `dmvwatch export verify DIR`)")
        raise typer.Exit(2)
    formats = FORMATS if fmt == "all" else (fmt,)
    if fmt != "all" and fmt not in FORMATS:
        console.print(f"[red]unknown --format {fmt}[/red]: csv, json, html or all")
        raise typer.Exit(2)
    settings = _settings(config)
    public_k = (suppress_below or settings.export.suppress_below) if public else None
    key = settings.export.signing_key.get_secret_value().encode()
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=quiet) as bar:
        job = bar.add_task("export: load", total=len(_STEPS))
        months = _load(from_file, config, month)
        bar.advance(job)

        def step(name: str) -> None:
            bar.update(job, description=f"export: {name}", advance=1)

        try:
            result = export_month(months, month, out, formats, key, public_k, step)
        except ValueError as exc:
            console.print(f"[red]cannot export[/red] {exc}")
            raise typer.Exit(2) from None
        bar.update(job, completed=len(_STEPS))
    if not months.get(month):
        console.print(f"[yellow]no counters stored for {month}: the export shows zeros[/yellow]")
    console.print(f"wrote {len(result.files)} files + manifest.json to {result.out_dir}")


@export_app.command("verify")
def verify(
    directory: Annotated[Path, typer.Argument(help="Export directory holding manifest.json.")],
    config: Annotated[Path | None, typer.Option(help="YAML settings file.")] = None,
) -> None:
    """Check every file against the signed manifest; exit 1 naming each changed, missing or extra file."""
    from stream.export.manifest import verify as check

    settings = _settings(config)
    problems = check(directory, settings.export.signing_key.get_secret_value().encode())
    if problems:
        for line in problems:
            typer.echo(f"FAIL {line}")
        raise typer.Exit(1)
    typer.echo(f"OK {directory}: every file matches the signed manifest")


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
