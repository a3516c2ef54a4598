"""The detector contract. Detectors are pure: events and watermarks in, findings out.

No Kafka, Redis, Prometheus or `time` here (design principle 1). State lives in the detector object and
round-trips through `snapshot()` / `restore()` (JSON-compatible), which the runtime checkpoints
together with the offsets it reflects. Time only moves through event timestamps and `on_watermark`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from stream.findings import Finding
from stream.records import Query, Response


class Params(BaseModel):
    """Base for each detector's thresholds, read from the policy file (strict, unknown keys rejected)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class DetectorContext:
    """Read-only things a detector may consult: the policy pack's state rules and version."""

    policy: Any  # stream.policy.Policy (Any to avoid an import cycle)


class Detector:
    kind: ClassVar[str]
    params_model: ClassVar[type[Params]] = Params

    def __init__(self, params: Params, ctx: DetectorContext) -> None:
        self.params = params
        self.ctx = ctx

    def on_query(self, q: Query) -> Iterable[Finding]:
        return ()

    def on_response(self, r: Response, q: Query | None) -> Iterable[Finding]:
        """`q` is the joined query when the monitor saw it within the join window, else None."""
        return ()

    def on_watermark(self, watermark: float) -> Iterable[Finding]:
        """Event time has passed `watermark` for good: close windows, expire state."""
        return ()

    def snapshot(self) -> dict[str, Any]:
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        return None

    def state_size(self) -> int:
        """Number of live keys held (for the live-state-size metric)."""
        return 0
