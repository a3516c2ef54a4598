"""Drive a detector through a table of timed steps, and helpers shared by detector tests.

A step is `("q", query)`, `("r", response, query_or_None)` or `("wm", watermark)`. `drive` returns the
findings each step produced, so a table can say what must fire and when.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from stream.detectors.base import Detector, DetectorContext
from stream.findings import Finding
from stream.policy import Policy, load_policy

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "deploy" / "policies" / "policy.yaml"

Step = tuple[Any, ...]


@lru_cache(maxsize=1)
def real_policy() -> Policy:
    """The real pack's state rules (thresholds are validated in test_policy, not per detector
    test); cached: the pack is immutable."""
    return load_policy(PACK, check_detectors=False)


def build(cls: type[Detector], policy: Policy | None = None, **params: Any) -> Detector:
    return cls(cls.params_model(**params), DetectorContext(policy=policy or real_policy()))


def apply(det: Detector, step: Step) -> list[Finding]:
    kind = step[0]
    if kind == "q":
        return list(det.on_query(step[1]))
    if kind == "r":
        return list(det.on_response(step[1], step[2]))
    if kind == "wm":
        return list(det.on_watermark(step[1]))
    raise ValueError(f"unknown step {kind!r}")


def drive(det: Detector, steps: Sequence[Step]) -> list[list[Finding]]:
    return [apply(det, s) for s in steps]


def flat(per_step: list[list[Finding]]) -> list[Finding]:
    return [f for fs in per_step for f in fs]


def signature(findings: list[Finding], version: str = "test") -> list[tuple[str, str]]:
    """What must not depend on arrival order or restarts: alert ids and evidence."""
    return sorted((f.alert_id(version), json.dumps(f.evidence, sort_keys=True)) for f in findings)


def drive_with_restart(cls: type[Detector], steps: Sequence[Step], at: int, **params: Any) -> list[Finding]:
    """Run steps[:at], snapshot through JSON into a fresh detector, then run the rest."""
    first = build(cls, **params)
    out = flat(drive(first, steps[:at]))
    second = build(cls, **params)
    second.restore(json.loads(json.dumps(first.snapshot())))
    return out + flat(drive(second, steps[at:]))
