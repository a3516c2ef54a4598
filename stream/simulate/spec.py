"""Scenario specifications: the YAML schema, kinds, expected detectors and default requesters.

A scenario file holds `scenarios: [ {name, kind, variant, start, duration, intensity, ...}, ... ]`;
`start` is an offset from the simulation start, `duration` the scenario's window.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stream.errors import ConfigError

Kind = Literal[
    "bulk_sweep",
    "noncj_bulk",
    "agency_spike",
    "photo_harvest",
    "restricted_use",
    "policy_leak",
    "blocked_retry",
    "agency_substitution",
    "partner_leakage",
    "pre_action_burst",
    "sensitive_targeting",
    "s2s_misuse",
    "new_requester",
    "feed_silence",
]
# Expected detector (alert.v1 `detector` enum). Non-CJ SAVE-style checks are a bulk pattern first: they
# are labelled bulk_sweep. Partner leakage (HSI looks up, ICE-ERO acts) is the substitution pattern run
# in the other direction, so it is labelled agency_substitution.
DETECTOR: dict[str, str] = {
    "bulk_sweep": "bulk_sweep",
    "noncj_bulk": "bulk_sweep",
    "agency_spike": "agency_spike",
    "photo_harvest": "photo_face_match",
    "restricted_use": "policy_violation",
    "policy_leak": "policy_leak",
    "blocked_retry": "blocked_retry",
    "agency_substitution": "agency_substitution",
    "partner_leakage": "agency_substitution",
    "pre_action_burst": "subject_focus",
    "sensitive_targeting": "sensitive_targeting",
    "s2s_misuse": "s2s_misuse",
    "new_requester": "new_requester",
    "feed_silence": "feed_silence",
}
# Who runs a scenario when the file names neither `ori`, `component` nor `category`.
DEFAULT_SELECTOR: dict[str, dict[str, str]] = {
    "bulk_sweep": {"category": "PD"},
    "noncj_bulk": {"category": "NJ"},
    "agency_spike": {"component": "ICE-ERO"},
    "photo_harvest": {"component": "HSI"},
    "restricted_use": {"component": "ICE-ERO"},
    "policy_leak": {"component": "ICE-ERO"},
    "blocked_retry": {"component": "ICE-ERO"},
    "agency_substitution": {"component": "CBP"},
    "partner_leakage": {"component": "HSI"},
    "pre_action_burst": {"component": "ICE-ERO"},
    "sensitive_targeting": {"component": "ICE-ERO"},
}
DMV_RUN = {("s2s_misuse", None), ("sensitive_targeting", "s2s_99999")}
_DUR = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(text: str | float) -> float:
    """'90s', '15m', '6h', '1d', '2w' (or a number of seconds) -> seconds."""
    if isinstance(text, int | float):
        return float(text)
    m = _DUR.match(str(text))
    if not m:
        raise ValueError(f"bad duration {text!r} (use e.g. 30m, 6h, 1d)")
    return float(m.group(1)) * _UNIT[m.group(2)]


class ScenarioSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Kind
    variant: str = "default"
    start: str = "2h"  # offset from the simulation start
    duration: str = "1h"
    intensity: float = Field(1.0, gt=0, description="Meaning per kind: queries/hour, multiplier or count.")
    ori: str | None = None
    component: str | None = None
    category: str | None = None
    home_state: str | None = None
    small_agency: bool = False
    operators: int = Field(1, ge=1, le=50)
    destination_states: list[str] = Field(default_factory=list)
    subjects: int = Field(5, ge=1, le=100_000)
    params: dict[str, Any] = Field(default_factory=dict)


def load_specs(path: Path) -> list[ScenarioSpec]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        items = doc.get("scenarios") or []
        specs = []
        for i, item in enumerate(items):
            try:
                specs.append(ScenarioSpec(**item))
            except ValidationError as exc:
                err = exc.errors(include_url=False)[0]
                where = ".".join(str(x) for x in err["loc"])
                raise ConfigError(str(path), f"scenarios[{i}].{where}", err["msg"]) from None
    except FileNotFoundError as exc:
        raise ConfigError(str(path), "-", "scenario file not found") from exc
    except (yaml.YAMLError, AttributeError, TypeError) as exc:
        raise ConfigError(str(path), "scenarios", f"not a scenario list: {type(exc).__name__}") from exc
    names = [s.name for s in specs]
    if len(names) != len(set(names)):
        raise ConfigError(str(path), "scenarios", "scenario names must be unique")
    return specs
