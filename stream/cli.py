"""The `dmvwatch` command line: thin commands that parse arguments and call the composition root.

Each command family lives in its own module and registers itself here (one line each).
"""

from __future__ import annotations

import typer

from stream import __version__

app = typer.Typer(
    name="dmvwatch",
    help="DMV Query Watch: streaming compliance monitor for DMV-data queries.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold secrets or personal data
)


@app.callback()
def main() -> None:
    """DMV Query Watch: streaming compliance monitor for DMV-data queries."""


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


# Command families (each module defines `register(app)`).
_FAMILIES: list[str] = [
    "stream.alerting.cli",
    "stream.export.cli",
    "stream.policy_cli",
    "stream.runtime_cli",
    "stream.dashboards_cli",
    "stream.simulate.cli",
]


def _register_families() -> None:
    import importlib

    for name in _FAMILIES:
        importlib.import_module(name).register(app)


_register_families()
