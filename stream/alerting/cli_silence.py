"""`dmvwatch alerts silence add|list|expire`: time-bounded, attributed silences kept in Redis."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from stream.findings import iso

silence_app = typer.Typer(help="Silences: mute matching alerts for a while.", no_args_is_help=True)
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="YAML settings file.")]


def _silences(config: Path | None) -> Any:
    from stream.alerting.cli import _ctx
    from stream.alerting.silences import SilenceStore

    settings, client = _ctx(config)
    return SilenceStore(client, settings.redis.key_prefix)


@silence_app.command("add")
def add(
    duration: Annotated[str, typer.Option(help="How long, e.g. 30m, 2h, 1d.")],
    author: Annotated[str, typer.Option(help="Who silences (recorded).")],
    comment: Annotated[str, typer.Option(help="Why (recorded), e.g. a ticket number.")],
    detector: Annotated[str | None, typer.Option(help="Match this detector kind.")] = None,
    ori: Annotated[str | None, typer.Option(help="Match this ORI.")] = None,
    state: Annotated[str | None, typer.Option(help="Match this destination state.")] = None,
    severity: Annotated[str | None, typer.Option(help="Match this severity.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Silence alerts matching every given label, from now for DURATION."""
    from stream.alerting.cli import err, out, parse_duration

    matchers = {
        k: v for k, v in {"detector": detector, "ori": ori, "state": state, "severity": severity}.items() if v
    }
    if not matchers:
        err.print("[red]give at least one of --detector, --ori, --state, --severity[/red]")
        raise typer.Exit(2)
    sil = _silences(config).add(matchers, author, comment, parse_duration(duration))
    out.print(f"silence {sil.id} until {iso(sil.ends_at)[:19]}Z: {matchers}")


@silence_app.command("list")
def list_silences(
    all_: Annotated[bool, typer.Option("--all", help="Include expired silences.")] = False,
    config: ConfigOpt = None,
) -> None:
    """List current (or all) silences."""
    from stream.alerting.cli import out
    from stream.alerting.mute import silence_state

    now = time.time()
    table = Table("id", "state", "matchers", "starts", "ends", "author", "comment")
    for s in _silences(config).all():
        st = silence_state(s, now)
        if all_ or st != "expired":
            matchers = ",".join(f"{k}={v}" for k, v in sorted(s.matchers.items()))
            table.add_row(s.id, st, matchers, iso(s.starts_at)[:19], iso(s.ends_at)[:19], s.author, s.comment)
    out.print(table)


@silence_app.command("expire")
def expire(
    silence_id: str,
    actor: Annotated[str, typer.Option(help="Who ends the silence (recorded).")] = "cli",
    config: ConfigOpt = None,
) -> None:
    """End a silence now (matching alerts are delivered on the notifier's next pass)."""
    from stream.alerting.cli import err, out
    from stream.alerting.silences import UnknownSilence

    try:
        sil = _silences(config).expire(silence_id, actor)
    except UnknownSilence:
        err.print(f"[red]no silence {silence_id}[/red]")
        raise typer.Exit(1) from None
    out.print(f"silence {sil.id} ends {iso(sil.ends_at)[:19]}Z")
