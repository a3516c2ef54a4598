"""Dashboards and Prometheus rules name only metrics that `Metrics` exports; the JSON is generated, sane."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from stream.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / "dashboards").glob("*.json"))
RULES = sorted((ROOT / "deploy/prometheus/rules").glob("dmvwatch-*.yml"))
TOKEN = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def dashboard_exprs() -> list[tuple[str, str, str]]:
    out = []
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            out += [(path.name, panel["title"], t["expr"]) for t in panel["targets"]]
    return out


def rules() -> list[dict[str, Any]]:
    return [r for path in RULES for g in yaml.safe_load(path.read_text())["groups"] for r in g["rules"]]


def recording_rules() -> dict[str, str]:
    return {r["record"]: r["expr"] for r in rules() if "record" in r}


def metric_names(expr: str, recorded: dict[str, str]) -> set[str]:
    """`dmvwatch_*` / `process_*` names in an expression, recording-rule names resolved to their rules."""
    expr = re.sub(r'"[^"]*"', '""', expr)  # label values are not names
    names: set[str] = set()
    for tok in TOKEN.findall(expr):
        if ":" in tok and "dmvwatch" in tok:
            assert tok in recorded, f"unknown recording rule {tok}"
            names |= metric_names(recorded[tok], recorded)
        elif tok.startswith(("dmvwatch_", "process_")):
            names.add(tok)
    return names


def uses_up(expr: str) -> bool:
    return "up" in TOKEN.findall(re.sub(r'"[^"]*"', '""', expr))


@pytest.fixture(scope="module")
def exported() -> set[str]:
    m = Metrics(CollectorRegistry())
    m.set_partition("dmvq.events", 0, 0, 0.0)  # per-partition gauges exist once a partition is assigned
    return {s.name for fam in m.registry.collect() for s in fam.samples}


def test_there_are_five_dashboards_and_rules() -> None:
    assert len(DASHBOARDS) == 5
    assert len(RULES) == 2


def test_every_metric_in_dashboards_is_exported(exported: set[str]) -> None:
    recorded = recording_rules()
    for name, title, expr in dashboard_exprs():
        names = metric_names(expr, recorded)
        assert names or uses_up(expr), f"{name} / {title}: no metric in {expr}"
        assert names <= exported, f"{name} / {title}: {names - exported} not exported"


def test_every_metric_in_rules_is_exported(exported: set[str]) -> None:
    recorded = recording_rules()
    for rule in rules():
        names = metric_names(rule["expr"], recorded)
        assert names <= exported, f"{rule.get('alert') or rule.get('record')}: {names - exported}"
        assert names or uses_up(rule["expr"]), rule


def test_metric_name_parser_resolves_recording_rules() -> None:
    recorded = {"instance:dmvwatch_x:rate1m": "sum(rate(dmvwatch_x_total[1m]))"}
    expr = 'instance:dmvwatch_x:rate1m{result="dmvwatch_fake"} / dmvwatch_y_bucket'
    assert metric_names(expr, recorded) == {"dmvwatch_x_total", "dmvwatch_y_bucket"}


def test_panels_have_units_descriptions_and_templated_datasource() -> None:
    uids = set()
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        uids.add(board["uid"])
        ds = next(v for v in board["templating"]["list"] if v["name"] == "datasource")
        assert ds["type"] == "datasource" and ds["current"]["value"] == "prometheus"
        for panel in board["panels"]:
            assert panel["description"], panel["title"]
            assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
            assert panel["datasource"]["uid"] == "${datasource}"
            assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])
            for t in panel["targets"]:
                assert "vector(0)" not in t["expr"], t["expr"]
    assert uids == {
        "dmvwatch-operations", "dmvwatch-immigration", "dmvwatch-photo-face", "dmvwatch-policy",
        "dmvwatch-pipeline",
    }  # fmt: skip


def test_committed_json_matches_build_script() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "dashboards/build.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_alerting_rule_has_a_promtool_case() -> None:
    tested = set()
    for path in (ROOT / "deploy/prometheus/tests").glob("*.yml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            for t in case.get("alert_rule_test", []):
                if t["exp_alerts"]:
                    tested.add(t["alertname"])
    assert {r["alert"] for r in rules() if "alert" in r} <= tested


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_promtool_checks_and_tests_the_rules() -> None:
    check = subprocess.run(["promtool", "check", "rules", *map(str, RULES)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    tests = sorted(str(p) for p in (ROOT / "deploy/prometheus/tests").glob("*.yml"))
    run = subprocess.run(["promtool", "test", "rules", *tests], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_panels_do_not_overlap_and_have_unique_ids() -> None:
    for path in DASHBOARDS:
        panels = json.loads(path.read_text())["panels"]
        assert len({p["id"] for p in panels}) == len(panels)
        cells: set[tuple[int, int]] = set()
        for p in panels:
            g = p["gridPos"]
            assert g["x"] + g["w"] <= 24, (path.name, p["title"])
            mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
            assert not cells & mine, (path.name, p["title"])
            cells |= mine
