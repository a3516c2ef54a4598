"""Pre-action bursts: one subject queried repeatedly by immigration-enforcement agencies within days.

Documented arrests were preceded by about six look-ups of the same person within a few days (domain
brief 4.3, 7.5). We keep, per subject, the logical queries made by immigration-enforcement requesters
(any ORI, any component) and fire when some `window_hours` span holds `min_queries` of them. Benign
investigators repeat a subject 3-4 times over days; the count floor and the short span keep them out.

A refused look-up re-sent by the same ORI is a retry, left to `blocked_retry`: such queries do not
count. Decisions run at hour boundaries on the queries at least `grace_hours` older (so their answers
are in) and the refusals before the boundary (see `_ticks`): the same events give the same finding
whatever their order. One finding per burst: after firing, the subject is quiet for one
span; a later burst fires again with its own window start.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from pydantic import Field

from stream.detectors import register
from stream.detectors._rekey import adopt_previous
from stream.detectors._ticks import TickClock, align, first_dense_window
from stream.detectors.base import Detector, DetectorContext, Params
from stream.findings import Finding, iso
from stream.records import IMMIGRATION_COMPONENTS, Agency, Query, Response

_HOUR = 3600.0


class SubjectFocusParams(Params):
    window_hours: float = Field(72.0, gt=0, le=24 * 14, description="Span of a burst.")
    min_queries: int = Field(5, ge=2, le=1000, description="Logical queries on one subject in the span.")
    critical_queries: int = Field(10, ge=2, description="At or above this count the alert is critical.")
    components: tuple[str, ...] = Field(IMMIGRATION_COMPONENTS, description="Immigration components.")
    grace_hours: int = Field(1, ge=1, le=6, description="Wait for answers before deciding, hours.")
    max_subjects: int = Field(300_000, ge=100, description="Bound on subjects held (oldest evicted).")
    max_points: int = Field(64, ge=4, description="Bound on queries held per subject.")


def immigration(agency: Agency, components: tuple[str, ...]) -> bool:
    return agency.immigration_enforcement or (agency.component or "") in components


@register
class SubjectFocus(Detector):
    kind = "subject_focus"
    params_model = SubjectFocusParams

    def __init__(self, params: Params, ctx: DetectorContext) -> None:
        super().__init__(params, ctx)
        self.p: SubjectFocusParams = params  # type: ignore[assignment]
        self.span = self.p.window_hours * _HOUR
        self.clock = TickClock(_HOUR)
        self.points: dict[str, list[list[Any]]] = {}  # subject -> [[ts, ori, event_id, state, comp]]
        self.dirty: dict[float, set[str]] = {}  # hour bucket -> subjects with new points in it
        self.quiet_until: dict[str, float] = {}  # subject -> no new burst may start before this
        self.blocks: dict[str, list[list[Any]]] = {}  # subject -> [[ori, query ts, response ts]]

    def on_query(self, q: Query) -> Iterable[Finding]:
        adopt_previous(q, [self.points, self.quiet_until, self.blocks], [self.dirty])
        if not (q.first_of_logical and q.subject_key and immigration(q.agency, self.p.components)):
            return ()
        if not self.clock.admit(q.ts):
            return ()
        state = q.state_destinations[0] if q.state_destinations else ""
        pts = self.points.setdefault(q.subject_key, [])
        pts.append([q.ts, q.ori, q.event_id, state, q.agency.component or q.agency.peer_group])
        if len(pts) > self.p.max_points:
            pts.sort(key=lambda p: (p[0], p[2]))
            del pts[0]
        self.dirty.setdefault(align(q.ts, _HOUR), set()).add(q.subject_key)
        return ()

    def on_response(self, r: Response, q: Query | None) -> Iterable[Finding]:
        """Remember refusals: the same ORI re-sending a refused look-up is a retry (`blocked_retry`)."""
        if q is not None:
            adopt_previous(q, [self.points, self.quiet_until, self.blocks], [self.dirty])
        if r.blocked and q is not None and q.subject_key in self.points and self.clock.admit(r.ts):
            self.blocks.setdefault(q.subject_key, []).append([q.ori, q.ts, r.ts])
        return ()

    def on_watermark(self, watermark: float) -> Iterable[Finding]:
        out: list[Finding] = []
        for boundary in self.clock.due(watermark):
            subjects: set[str] = set()
            cut = boundary - self.p.grace_hours * _HOUR
            for bucket in [b for b in self.dirty if b < cut]:
                subjects |= self.dirty.pop(bucket)
            for subject in sorted(subjects):
                finding = self._evaluate(subject, boundary)
                if finding is not None:
                    out.append(finding)
            if boundary % 86400 == 0:
                self._prune(boundary)
        return out

    def _evaluate(self, subject: str, boundary: float) -> Finding | None:
        """Queries before `boundary - grace`, minus retries known from refusals before `boundary`."""
        quiet = self.quiet_until.get(subject, float("-inf"))
        cut = boundary - self.p.grace_hours * _HOUR
        refused = [b for b in self.blocks.get(subject, []) if b[2] < boundary]
        pts = sorted(
            (
                p
                for p in self.points.get(subject, [])
                if quiet <= p[0] < cut and not any(b[0] == p[1] and b[1] < p[0] for b in refused)
            ),
            key=lambda p: (p[0], p[2]),
        )
        found = first_dense_window([p[0] for p in pts], [p[2] for p in pts], self.span, self.p.min_queries)
        if found is None:
            return None
        start = pts[found[0]][0]
        burst = [p for p in pts if p[0] < start + self.span]
        self.quiet_until[subject] = start + self.span
        return self._finding(subject, burst)

    def _finding(self, subject: str, burst: list[list[Any]]) -> Finding:
        by_ori = Counter(p[1] for p in burst)
        top_ori = min(by_ori, key=lambda o: (-by_ori[o], o))
        states = Counter(p[3] for p in burst if p[3])
        state = min(states, key=lambda s: (-states[s], s)) if states else None
        n = len(burst)
        severity = "critical" if n >= self.p.critical_queries or len(by_ori) >= 3 else "high"
        hours = (burst[-1][0] - burst[0][0]) / _HOUR
        return Finding(
            detector=self.kind,
            severity=severity,
            ori=top_ori,
            group_key=f"subject:{subject}",
            window_start=align(burst[0][0], _HOUR),
            window_end=burst[-1][0],
            title=(
                f"Pre-action burst: {n} immigration-enforcement queries on one subject in "
                f"{hours:.0f} h from {len(by_ori)} ORI(s), most by {top_ori}"
            ),
            summary="One subject queried repeatedly by immigration-enforcement requesters in a short span.",
            destination_state=state,
            evidence={
                "queries": n,
                "threshold": self.p.min_queries,
                "window_hours": self.p.window_hours,
                "by_ori": dict(sorted(by_ori.items())),
                "by_component": dict(sorted(Counter(p[4] for p in burst).items())),
                "by_state": dict(sorted(states.items())),
                "first_query": iso(burst[0][0]),
                "last_query": iso(burst[-1][0]),
                "query_ts": [p[0] for p in burst],
                "event_ids": [p[2] for p in burst],
            },
        )

    def _prune(self, boundary: float) -> None:
        horizon = boundary - self.span
        for subject in list(self.points):
            kept = [p for p in self.points[subject] if p[0] >= horizon]
            if kept:
                self.points[subject] = kept
            else:
                del self.points[subject]
        self.quiet_until = {s: t for s, t in self.quiet_until.items() if t > horizon}
        self.blocks = {s: kept for s, b in self.blocks.items() if (kept := [x for x in b if x[2] >= horizon])}
        if len(self.points) > self.p.max_subjects:  # evict the subjects idle the longest
            by_age = sorted(self.points, key=lambda s: (max(p[0] for p in self.points[s]), s))
            for subject in by_age[: len(self.points) - self.p.max_subjects]:
                del self.points[subject]

    def snapshot(self) -> dict[str, Any]:
        return {
            "clock": self.clock.snapshot(),
            "points": self.points,
            "dirty": [[b, sorted(s)] for b, s in sorted(self.dirty.items())],
            "quiet_until": self.quiet_until,
            "blocks": self.blocks,
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.clock.restore(state.get("clock", {}))
        self.points = {k: [list(p) for p in v] for k, v in state.get("points", {}).items()}
        self.dirty = {float(b): set(s) for b, s in state.get("dirty", [])}
        self.quiet_until = {k: float(v) for k, v in state.get("quiet_until", {}).items()}
        self.blocks = {k: [list(b) for b in v] for k, v in state.get("blocks", {}).items()}

    def state_size(self) -> int:
        return len(self.points) + len(self.quiet_until)
