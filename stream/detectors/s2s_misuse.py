"""s2s_misuse: AAMVA S2S / SPEXS pointer look-ups that are not single, application-driven checks.

California's stated rules (brief 4.4): S2S queries are transaction-based, triggered by an in-person
application, single-record; bulk searches are not possible. So, per ORI per aligned window:
- `no_application`: look-ups without an in-person application id;
- `batch_cadence`: at least `min_batch` look-ups with near-constant inter-arrival times (coefficient
  of variation <= `max_cadence_cv`) - a script, not a counter clerk;
- `volume_spike`: at least `volume_floor` look-ups and `volume_ratio` times the ORI's own mean over its
  last `history_windows` active windows (needs `min_history` of them). Look-ups selecting on the 99999
  SSN placeholder are left out of both: a run of them is sensitive_targeting's finding (its
  `s2s_placeholder` test), and counted here it would raise a second alert for the same campaign.
One finding per ORI and window listing every reason. Late events whose window closed are dropped.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from itertools import pairwise
from typing import Any

from pydantic import Field

from stream.detectors import register
from stream.detectors._groups import Bucket, Groups, WindowParams, base_evidence, finding
from stream.detectors.base import Detector, DetectorContext
from stream.findings import Finding
from stream.records import Query


class S2sMisuseParams(WindowParams):
    min_no_application: int = Field(1, ge=1, le=100_000, description="Look-ups without an application.")
    min_batch: int = Field(20, ge=3, le=100_000, description="Look-ups needed to judge cadence.")
    max_cadence_cv: float = Field(0.1, ge=0, le=1, description="Inter-arrival CV at or below = batch.")
    volume_ratio: float = Field(10.0, gt=1, le=1000, description="Window count / own mean to fire.")
    volume_floor: int = Field(20, ge=1, le=1_000_000, description="Minimum count for a volume spike.")
    history_windows: int = Field(24, ge=1, le=24 * 62, description="Active windows kept as baseline.")
    min_history: int = Field(3, ge=1, le=24 * 62, description="Baseline windows needed to judge volume.")


def cadence_cv(times: list[float]) -> float | None:
    """Coefficient of variation of the gaps between sorted times (None when it cannot be computed)."""
    ts = sorted(times)
    gaps = [b - a for a, b in pairwise(ts)]
    if len(gaps) < 2:
        return None
    mean = statistics.fmean(gaps)
    return None if mean <= 0 else statistics.pstdev(gaps) / mean


@register
class S2sMisuse(Detector):
    kind = "s2s_misuse"
    params_model = S2sMisuseParams

    def __init__(self, params: S2sMisuseParams, ctx: DetectorContext) -> None:
        super().__init__(params, ctx)
        self.p = params
        self.groups = Groups(params, late="drop")
        self.history: dict[str, list[int]] = {}  # ORI -> counts of its last active windows

    def on_query(self, q: Query) -> Iterable[Finding]:
        if q.source != "s2s" and q.message_key != "S2S":
            return ()
        b = self.groups.add(q.ori, q.ts, q.event_id, {"ori": q.ori})
        if b is not None:
            b.tally("application", "present" if q.has_application else "missing")
            if q.ssn_placeholder:
                b.tally("ssn", "placeholder")
            if not q.has_application:
                b.sample("no_application_ids", q.event_id, self.p.sample_size)
        return ()

    def on_watermark(self, watermark: float) -> Iterable[Finding]:
        out: list[Finding] = []
        for b in self.groups.close(watermark):
            f = self._judge(b)
            if f is not None:
                out.append(f)
        return out

    def _judge(self, b: Bucket) -> Finding | None:
        ori = b.attrs["ori"]
        past = self.history.get(ori, [])
        baseline = statistics.fmean(past) if len(past) >= self.p.min_history else None
        volume = b.count - b.tallies.get("ssn", {}).get("placeholder", 0)
        self.history[ori] = [*past, volume][-self.p.history_windows :]
        missing = b.tallies.get("application", {}).get("missing", 0)
        cv = cadence_cv(list(b.ids.values())) if b.count >= self.p.min_batch else None
        reasons = []
        if missing >= self.p.min_no_application:
            reasons.append("no_application")
        if cv is not None and cv <= self.p.max_cadence_cv:
            reasons.append("batch_cadence")
        volume_bar = None if baseline is None else max(self.p.volume_floor, self.p.volume_ratio * baseline)
        if volume_bar is not None and volume >= volume_bar:
            reasons.append("volume_spike")
        if not reasons:
            return None
        ev: dict[str, Any] = base_evidence(b, self.p, self.p.min_no_application)
        ev.update(
            reasons=reasons, no_application=missing, cadence_cv=cv, max_cadence_cv=self.p.max_cadence_cv,
            min_batch=self.p.min_batch, baseline_mean=baseline, baseline_windows=len(past),
            volume_bar=volume_bar, volume_count=volume,
        )  # fmt: skip
        title = f"{ori}: {b.count} S2S look-ups not tied to single applications ({', '.join(reasons)})"
        return finding(self.kind, "high", b, title, ev)

    def snapshot(self) -> dict[str, Any]:
        return {"groups": self.groups.snapshot(), "history": self.history}

    def restore(self, state: dict[str, Any]) -> None:
        self.groups.restore(state.get("groups", {}))
        self.history = {k: list(v) for k, v in state.get("history", {}).items()}

    def state_size(self) -> int:
        return len(self.groups) + len(self.history)
