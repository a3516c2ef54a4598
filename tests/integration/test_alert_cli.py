"""`dmvwatch alerts ...` against the real Redis: list with filters, ack, resolve, silences."""

from __future__ import annotations

import re

import pytest
import redis
from typer.testing import CliRunner

from stream.alerting.store import AlertStore
from stream.cli import app

from .alerting_helpers import make_alert

pytestmark = pytest.mark.integration


def _run(redis_url: str, *args: str) -> str:
    env = {"DMVWATCH_REDIS__URL": redis_url, "DMVWATCH_REDIS__KEY_PREFIX": "c", "COLUMNS": "200"}
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_list_ack_resolve_and_silences(redis_client: redis.Redis, redis_url: str) -> None:
    sweep = make_alert("bulk_sweep", ori="XXSYN0201", state="WA", severity="high")
    leak = make_alert("policy_leak", ori="XXSYN0202", state="NY", severity="critical")
    AlertStore(redis_client, prefix="c").write([sweep, leak])

    listed = _run(redis_url, "alerts", "list", "--severity", "critical")
    assert leak.alert_id[:12] in listed and sweep.alert_id[:12] not in listed

    _run(redis_url, "alerts", "ack", sweep.alert_id[:12], "--actor", "tac-wa", "--reason", "calling TAC")
    acked = _run(redis_url, "alerts", "list", "--status", "acknowledged")
    assert sweep.alert_id[:12] in acked and leak.alert_id[:12] not in acked
    _run(redis_url, "alerts", "resolve", sweep.alert_id, "--actor", "tac-wa", "--reason", "fleet audit")
    shown = _run(redis_url, "alerts", "show", sweep.alert_id)
    assert "acknowledged" in shown and "fleet audit" in shown and "tac-wa" in shown
    assert sweep.alert_id[:12] in _run(redis_url, "alerts", "list", "--status", "resolved")

    added = _run(
        redis_url,
        "alerts",
        "silence",
        "add",
        "--ori",
        "XXSYN0202",
        "--duration",
        "2h",
        "--author",
        "cso",
        "--comment",
        "INC-42 maintenance",
    )
    match = re.search(r"silence (\w+) until", added)
    assert match is not None
    assert match.group(1) in _run(redis_url, "alerts", "silence", "list")
    _run(redis_url, "alerts", "silence", "expire", match.group(1), "--actor", "cso")
    assert match.group(1) not in _run(redis_url, "alerts", "silence", "list")
    assert match.group(1) in _run(redis_url, "alerts", "silence", "list", "--all")


def test_refused_transition_exits_nonzero(redis_client: redis.Redis, redis_url: str) -> None:
    alert = make_alert(ori="XXSYN0203")
    AlertStore(redis_client, prefix="c").write([alert])
    env = {"DMVWATCH_REDIS__URL": redis_url, "DMVWATCH_REDIS__KEY_PREFIX": "c"}
    runner = CliRunner()
    assert runner.invoke(app, ["alerts", "resolve", alert.alert_id, "--actor", "a"], env=env).exit_code == 0
    again = runner.invoke(app, ["alerts", "ack", alert.alert_id, "--actor", "b"], env=env)
    assert again.exit_code == 1
