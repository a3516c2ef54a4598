"""`dmvwatch dashboards push`: upload the committed Grafana dashboards (dashboards/*.json) to Grafana.

The payloads are built here (pure, unit-tested); `grafana-client` only carries them. Dashboards keep their
stable UIDs and are overwritten in place, in one folder whose UID is derived from its title, so pushing
twice leaves one copy of each.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)
dashboards_app = typer.Typer(help="Grafana dashboards of the monitor.", no_args_is_help=True)

Credential = str | tuple[str, str] | None


def load_dashboards(directory: Path) -> list[dict[str, Any]]:
    """Every dashboard JSON in `directory`, sorted by file name; each must have a uid and a title."""
    boards = []
    for path in sorted(directory.glob("*.json")):
        board = json.loads(path.read_text(encoding="utf-8"))
        if not board.get("uid") or not board.get("title"):
            raise ValueError(f"{path}: a dashboard needs a uid and a title")
        boards.append(board)
    return boards


def folder_uid(title: str) -> str:
    """A stable folder UID from its title (Grafana allows up to 40 characters of [a-zA-Z0-9_-])."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "folder"
    return slug[:40]


def push_payload(board: dict[str, Any], folder: str | None, message: str) -> dict[str, Any]:
    """The body of POST /api/dashboards/db: overwrite by UID, never by the numeric id of another Grafana."""
    dashboard = {k: v for k, v in board.items() if k != "id"}
    dashboard["id"] = None
    payload: dict[str, Any] = {"dashboard": dashboard, "overwrite": True, "message": message}
    if folder is not None:
        payload["folderUid"] = folder
    return payload


def credential(token: str | None, user: str | None, password: str | None) -> Credential:
    """A service-account token wins; otherwise basic auth when both user and password are given."""
    if token:
        return token
    if user and password:
        return (user, password)
    if user or password:
        raise typer.BadParameter("--user and --password go together")
    return None


def _ensure_folder(api: Any, title: str) -> str:
    from grafana_client.client import GrafanaClientError

    uid = folder_uid(title)
    try:
        api.folder.get_folder(uid)
    except GrafanaClientError as exc:
        if exc.status_code != 404:
            raise
        api.folder.create_folder(title, uid=uid)
    return uid


@dashboards_app.command()
def push(
    grafana_url: Annotated[str, typer.Option(help="Grafana base URL, e.g. http://127.0.0.1:3000.")],
    token: Annotated[str | None, typer.Option(envvar="GRAFANA_TOKEN", help="Service-account token.")] = None,
    user: Annotated[str | None, typer.Option(envvar="GRAFANA_USER", help="Basic-auth user.")] = None,
    password: Annotated[
        str | None, typer.Option(envvar="GRAFANA_PASSWORD", help="Basic-auth password.", show_default=False)
    ] = None,
    folder: Annotated[
        str | None, typer.Option(help="Folder title (created if missing).")
    ] = "DMV Query Watch",
    directory: Annotated[Path, typer.Option("--dir", help="Directory of dashboard JSON.")] = Path(
        "dashboards"
    ),
    timeout: Annotated[float, typer.Option(help="HTTP timeout, seconds.")] = 10.0,
) -> None:
    """Upload every dashboard in --dir to Grafana (overwriting the same UIDs)."""
    from grafana_client import GrafanaApi
    from grafana_client.client import GrafanaException

    boards = load_dashboards(directory)
    if not boards:
        console.print(f"[red]no dashboards in {directory}[/red]")
        raise typer.Exit(2)
    api = GrafanaApi.from_url(grafana_url, credential=credential(token, user, password), timeout=timeout)
    table = Table(title=f"dashboards pushed to {grafana_url}")
    for col in ("title", "uid", "url"):
        table.add_column(col)
    try:
        folder_id = _ensure_folder(api, folder) if folder else None
        for board in boards:
            result = api.dashboard.update_dashboard(
                push_payload(board, folder_id, "dmvwatch dashboards push")
            )
            table.add_row(board["title"], board["uid"], str(result.get("url", "")))
    except GrafanaException as exc:
        console.print(f"[red]Grafana refused[/red] ({exc.status_code}): {exc.message}")
        raise typer.Exit(1) from None
    except OSError as exc:
        console.print(f"[red]cannot reach Grafana[/red]: {exc}")
        raise typer.Exit(1) from None
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(dashboards_app, name="dashboards")
