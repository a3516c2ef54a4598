"""Generate the five Grafana dashboards of DMV Query Watch as JSON (the committed JSON is what Grafana loads).

    .venv/bin/python dashboards/build.py          # rewrite dashboards/*.json
    .venv/bin/python dashboards/build.py --check  # exit 1 if the committed JSON is stale

Plain dicts keep the output stable and reviewable. Every panel has a unit and a description, every query
reads series that `stream/metrics.py` creates at zero (or recording rules over them in
`deploy/prometheus/rules/`), so a panel shows 0 rather than "No data" before a rare thing happens.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DS = {"type": "prometheus", "uid": "${datasource}"}


def _variables(extra: list[dict[str, Any]]) -> dict[str, Any]:
    datasource = {
        "name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
        "current": {"selected": False, "text": "prometheus", "value": "prometheus"},
        "hide": 0, "refresh": 1, "regex": "", "options": [],
    }  # fmt: skip
    instance = _query_var("instance", "Worker", "label_values(dmvwatch_build_info, instance)")
    return {"list": [datasource, instance, *extra]}


def _query_var(name: str, label: str, query: str) -> dict[str, Any]:
    return {
        "name": name, "label": label, "type": "query", "datasource": DS,
        "query": {"query": query, "refId": f"{name}-var"}, "definition": query,
        "multi": True, "includeAll": True, "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "refresh": 2, "sort": 1, "hide": 0, "options": [], "regex": "",
    }  # fmt: skip


def _panel(spec: dict[str, Any], pid: int, x: int, y: int) -> dict[str, Any]:
    kind = spec.get("kind", "timeseries")
    instant = kind in ("stat", "bargauge", "table")
    targets = [
        {"refId": chr(65 + i), "datasource": DS, "expr": expr, "legendFormat": legend,
         "instant": instant, "range": not instant}
        for i, (expr, legend) in enumerate(spec["targets"])
    ]  # fmt: skip
    defaults: dict[str, Any] = {"unit": spec["unit"], "min": 0 if spec.get("min0", True) else None}
    defaults = {k: v for k, v in defaults.items() if v is not None}
    panel: dict[str, Any] = {
        "id": pid, "type": kind, "title": spec["title"], "description": spec["description"],
        "datasource": DS, "targets": targets,
        "gridPos": {"x": x, "y": y, "w": spec.get("w", 12), "h": spec.get("h", 8)},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": _options(kind),
    }  # fmt: skip
    return panel


def _options(kind: str) -> dict[str, Any]:
    if kind == "timeseries":
        return {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                "tooltip": {"mode": "multi", "sort": "desc"}}  # fmt: skip
    if kind == "bargauge":
        return {"displayMode": "gradient", "orientation": "horizontal", "showUnfilled": True,
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}  # fmt: skip
    return {"colorMode": "value", "graphMode": "none", "textMode": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}  # fmt: skip


def _layout(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Left to right, wrapping at Grafana's 24 columns; a row is as tall as its tallest panel."""
    panels, x, y, row_h = [], 0, 0, 0
    for pid, spec in enumerate(specs, 1):
        w = spec.get("w", 12)
        if x + w > 24:
            x, y, row_h = 0, y + row_h, 0
        panels.append(_panel(spec, pid, x, y))
        x, row_h = x + w, max(row_h, spec.get("h", 8))
    return panels


def build(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "uid": d["uid"], "title": d["title"], "description": d["description"],
        "tags": ["dmvwatch", *d.get("tags", [])], "timezone": "utc", "editable": True,
        "schemaVersion": 39, "version": 1, "refresh": "30s", "graphTooltip": 1,
        "time": {"from": "now-6h", "to": "now"},
        "templating": _variables([_query_var(*v) for v in d.get("variables", [])]),
        "annotations": {"list": []},
        "links": [{"type": "dashboards", "tags": ["dmvwatch"], "asDropdown": True, "title": "DMV Query Watch",
                   "includeVars": True, "keepTime": True}],
        "panels": _layout(d["panels"]),
    }  # fmt: skip


def render(d: dict[str, Any]) -> str:
    return json.dumps(build(d), indent=2, sort_keys=True) + "\n"


def specs() -> list[dict[str, Any]]:
    """The panel specs of dashboards/panels.py (loaded by path: dashboards/ is not a package)."""
    spec = importlib.util.spec_from_file_location("dmvwatch_dashboard_panels", HERE / "panels.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.DASHBOARDS)


def main(argv: list[str]) -> int:
    stale = []
    for d in specs():
        path = HERE / f"{d['file']}.json"
        text = render(d)
        if "--check" in argv:
            if not path.is_file() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
    if stale:
        print("stale dashboards (run dashboards/build.py):", ", ".join(stale))
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
