"""`dmvwatch dashboards push`: payloads and the calls made to Grafana (a recording fake, no network)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from stream import dashboards_cli
from stream.cli import app
from stream.dashboards_cli import credential, folder_uid, load_dashboards, push_payload

ROOT = Path(__file__).resolve().parents[2]


def test_payload_overwrites_by_uid_in_the_folder() -> None:
    board = {"id": 42, "uid": "dmvwatch-pipeline", "title": "Pipeline", "panels": []}
    payload = push_payload(board, "dmv-query-watch", "msg")
    assert payload["dashboard"]["id"] is None  # another Grafana's numeric id must not leak in
    assert payload["dashboard"]["uid"] == "dmvwatch-pipeline"
    assert payload["overwrite"] is True
    assert payload["folderUid"] == "dmv-query-watch"
    assert payload["message"] == "msg"
    assert board["id"] == 42  # input untouched
    assert "folderUid" not in push_payload(board, None, "msg")


def test_committed_dashboards_load_with_uids() -> None:
    boards = load_dashboards(ROOT / "dashboards")
    assert len(boards) == 5
    assert all(b["uid"].startswith("dmvwatch-") for b in boards)


def test_dashboard_without_uid_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text(json.dumps({"title": "no uid"}))
    with pytest.raises(ValueError, match="uid"):
        load_dashboards(tmp_path)


def test_folder_uid_is_a_stable_slug() -> None:
    assert folder_uid("DMV Query Watch") == "dmv-query-watch"
    assert len(folder_uid("x" * 100)) == 40


def test_credentials() -> None:
    assert credential("tok", "u", "p") == "tok"
    assert credential(None, "u", "p") == ("u", "p")
    assert credential(None, None, None) is None
    with pytest.raises(typer.BadParameter):
        credential(None, "u", None)


class FakeApi:
    """Records what the CLI sends; `folder.get_folder` answers 404 the first time."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.folder = self
        self.dashboard = self

    def get_folder(self, uid: str) -> dict[str, Any]:
        from grafana_client.client import GrafanaClientError

        self.calls.append(("get_folder", uid))
        raise GrafanaClientError(404, None, "not found")

    def create_folder(self, title: str, uid: str | None = None) -> dict[str, Any]:
        self.calls.append(("create_folder", (title, uid)))
        return {"uid": uid}

    def update_dashboard(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("update_dashboard", payload))
        return {"url": f"/d/{payload['dashboard']['uid']}"}


def test_push_creates_the_folder_and_uploads_every_dashboard(monkeypatch: pytest.MonkeyPatch) -> None:
    import grafana_client

    fake = FakeApi()
    seen: dict[str, Any] = {}

    def from_url(url: str, credential: Any = None, timeout: float = 5.0) -> FakeApi:
        seen.update(url=url, credential=credential)
        return fake

    monkeypatch.setattr(grafana_client.GrafanaApi, "from_url", staticmethod(from_url))
    args = ["dashboards", "push", "--grafana-url", "http://grafana:3000", "--token", "t0k",
            "--dir", str(ROOT / "dashboards")]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert seen == {"url": "http://grafana:3000", "credential": "t0k"}
    assert fake.calls[1] == ("create_folder", ("DMV Query Watch", "dmv-query-watch"))
    uploaded = [p for name, p in fake.calls if name == "update_dashboard"]
    assert {p["dashboard"]["uid"] for p in uploaded} == {
        b["uid"] for b in load_dashboards(ROOT / "dashboards")
    }
    assert all(p["folderUid"] == "dmv-query-watch" and p["overwrite"] for p in uploaded)


def test_push_with_no_dashboards_fails(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["dashboards", "push", "--grafana-url", "http://g", "--dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert dashboards_cli.load_dashboards(tmp_path) == []


def test_push_into_an_existing_folder_does_not_recreate_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import grafana_client

    class Existing(FakeApi):
        def get_folder(self, uid: str) -> dict[str, Any]:
            self.calls.append(("get_folder", uid))
            return {"uid": uid}

    fake = Existing()
    monkeypatch.setattr(grafana_client.GrafanaApi, "from_url", staticmethod(lambda *a, **k: fake))
    args = ["dashboards", "push", "--grafana-url", "http://g", "--user", "admin", "--password", "pw",
            "--folder", "Oversight", "--dir", str(ROOT / "dashboards")]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert [name for name, _ in fake.calls].count("create_folder") == 0
    assert {p["folderUid"] for name, p in fake.calls if name == "update_dashboard"} == {"oversight"}
