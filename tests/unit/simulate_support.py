"""Helpers for the simulator tests: run a simulation to a file, read it back, validate with the schemas."""

from __future__ import annotations

import gzip
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from stream.simulate.engine import SimConfig, Simulation
from stream.simulate.sink import FileSink
from stream.simulate.spec import load_specs

REPO = Path(__file__).resolve().parents[2]
EVAL_YAML = REPO / "deploy" / "scenarios" / "eval.yaml"
DEMO_YAML = REPO / "deploy" / "scenarios" / "demo.yaml"


def run_to_file(cfg: SimConfig, path: Path) -> Simulation:
    sim = Simulation(cfg)
    sink = FileSink(path)
    try:
        for lines in sim.run():
            sink.write(lines)
    finally:
        sink.close()
    return sim


def read_lines(path: Path) -> list[bytes]:
    raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    return raw.splitlines()


@cache
def validators() -> dict[str, Draft202012Validator]:
    """Draft 2020-12 validators with date-time format checking ON (needs rfc3339-validator)."""
    checker = FormatChecker()
    assert "date-time" in checker.checkers, "install rfc3339-validator: date-time would not be checked"
    out = {}
    for name in ("query", "response"):
        schema = json.loads(resources.files("stream").joinpath(f"schema/{name}.v1.schema.json").read_text())
        Draft202012Validator.check_schema(schema)
        out[f"dmvq.{name}.v1"] = Draft202012Validator(schema, format_checker=checker)
    return out


def validate_line(line: bytes) -> dict[str, Any] | None:
    """The parsed event when the line satisfies its schema, else None."""
    try:
        ev = json.loads(line)
    except ValueError:
        return None
    if not isinstance(ev, dict):
        return None
    v = validators().get(ev.get("schema"))  # type: ignore[arg-type]
    if v is None or any(True for _ in v.iter_errors(ev)):
        return None
    return ev


def eval_specs() -> list[Any]:
    return load_specs(EVAL_YAML)
