"""Agency substitution: subjects blocked for one agency, then queried by another one within days.

After Washington blocked ICE, most documented arrests followed look-ups run by CBP (domain brief 4.3).
A BLOCKED_BY_POLICY response joined to its query marks the subject as "blocked for agency A in state
S". A later query of that subject (to S) by a *different* agency B -- a sibling federal component or a
local proxy -- is a substitution hit. One hit can be coincidence; B hitting several distinct blocked
subjects within `window_days` is a pattern. Coincidence is measured, not assumed: each state's share
of queries that land on recently blocked subjects (all requesters but B) times B's own query volume
gives the hits chance alone would explain, and the observed count must be improbable under it.

Partner leakage is the mirror image (brief 7.5): a permitted partner (HSI, CBP) looks people up and the
restricted component (ICE-ERO) queries the same people within days. Hits are counted per partner ORI
against the rate at which other partners' look-ups are followed by restricted ones.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from pydantic import Field

from stream.detectors import register
from stream.detectors._rarity import poisson_sf
from stream.detectors._rekey import adopt_previous
from stream.detectors._subst_state import SubstitutionState
from stream.detectors._ticks import TickClock, align
from stream.detectors.base import Detector, DetectorContext, Params
from stream.findings import Finding, iso
from stream.records import Query, Response

_HOUR = 3600.0
_DAY = 86400.0


class AgencySubstitutionParams(Params):
    window_days: float = Field(7.0, gt=0, le=60, description="Block -> substitute query lag, and span.")
    min_subjects: int = Field(3, ge=1, le=1000, description="Distinct substituted subjects per window.")
    alpha: float = Field(1e-6, gt=0, lt=1, description="Max chance probability of the observed hits.")
    min_ratio: float = Field(4.0, ge=1, description="Subjects over the chance expectation, at least.")
    critical_subjects: int = Field(6, ge=1, description="At or above this count the alert is critical.")
    require_same_state: bool = Field(True, description="The substitute query must reach the block state.")
    prior_queries: float = Field(100.0, ge=1, description="Hit-free pseudo-queries per day and state.")
    partner_components: tuple[str, ...] = Field(("HSI", "CBP", "USBP"), description="Permitted partners.")
    restricted_component: str = Field("ICE-ERO", description="Partner leakage: the component fed.")
    max_subjects: int = Field(500_000, ge=100, description="Bound on blocked subjects held.")


@register
class AgencySubstitution(Detector):
    kind = "agency_substitution"
    params_model = AgencySubstitutionParams

    def __init__(self, params: Params, ctx: DetectorContext) -> None:
        super().__init__(params, ctx)
        self.p: AgencySubstitutionParams = params  # type: ignore[assignment]
        self.span = self.p.window_days * _DAY
        self.clock = TickClock(_HOUR)
        self.st = SubstitutionState(
            self.span, self.p.require_same_state, self.p.prior_queries, self.p.partner_components,
            self.p.restricted_component,
        )  # fmt: skip

    def on_response(self, r: Response, q: Query | None) -> Iterable[Finding]:
        if q is not None and q.subject_key_prev:  # only during a key rotation overlap
            adopt_previous(q, [self.st.blocked, self.st.recent, self.st.partners], [])
        if r.blocked and q is not None and q.subject_key and self.clock.admit(r.ts):
            self.st.add_block(q, r)
        return ()

    def on_query(self, q: Query) -> Iterable[Finding]:
        if q.subject_key_prev:  # only during a key rotation overlap
            adopt_previous(q, [self.st.blocked, self.st.recent, self.st.partners], [])
        if q.first_of_logical and q.subject_key and self.clock.admit(q.ts):
            self.st.add_query(q)
        return ()

    def on_watermark(self, watermark: float) -> Iterable[Finding]:
        out: list[Finding] = []
        for boundary in self.clock.due(watermark):
            self.st.fold(boundary)
            for pair in self.st.pop_dirty(boundary):
                finding = self._evaluate(pair, boundary)
                if finding is not None:
                    out.append(finding)
            if boundary % _DAY == 0:
                self.st.prune(boundary, self.p.max_subjects)
        self.st.forget_recent(watermark)
        return out

    def _evaluate(self, pair: str, boundary: float) -> Finding | None:
        """The earliest window of `pair`'s hits that chance cannot explain (hits before `boundary`)."""
        quiet = self.st.quiet_until.get(pair, float("-inf"))
        hits = sorted((h for h in self.st.hits.get(pair, []) if quiet <= h[0] < boundary), key=_order)
        sub_ori = pair.split("|", 1)[0]
        for i, first in enumerate(hits):
            window = [h for h in hits[i:] if h[0] < first[0] + self.span]
            subjects = len({h[1] for h in window})
            if subjects < self.p.min_subjects:
                continue
            expect = self.st.expected_leaks if "|leak:" in pair else self.st.expected_hits
            expected = expect(sub_ori, first[0], min(first[0] + self.span, boundary))
            p_value = poisson_sf(subjects, expected)
            if p_value < self.p.alpha and subjects >= self.p.min_ratio * expected:
                self.st.quiet_until[pair] = first[0] + self.span
                return self._finding(pair, window, subjects, expected, p_value)
        return None

    def _finding(
        self, pair: str, window: list[list[Any]], subjects: int, expected: float, p_value: float
    ) -> Finding:
        sub_ori, blocked = pair.split("|", 1)
        leak = blocked.startswith("leak:")
        blocked = blocked.removeprefix("leak:")
        states = Counter(h[3] for h in window)
        state = min(states, key=lambda s: (-states[s], s))
        lags = sorted(h[5] for h in window)
        severity = "critical" if subjects >= self.p.critical_subjects else "high"
        return Finding(
            detector=self.kind,
            severity=severity,
            ori=sub_ori,
            group_key=pair,
            window_start=align(window[0][0], _HOUR),
            window_end=window[-1][0],
            title=(
                f"Partner leakage: {subjects} subjects {sub_ori} looked up were queried by {blocked} "
                f"within {self.p.window_days:g} days"
                if leak
                else f"Agency substitution: {sub_ori} queried {subjects} subjects blocked for "
                f"{blocked} within {self.p.window_days:g} days"
            ),
            summary="Subjects refused to one agency were looked up soon after by another agency.",
            destination_state=state,
            evidence={
                "substitute_ori": sub_ori,
                "pattern": "partner_leakage" if leak else "substitution",
                "blocked_agency": blocked,
                "subjects": subjects,
                "threshold": self.p.min_subjects,
                "expected_by_chance": round(expected, 6),
                "p_value": p_value,
                "alpha": self.p.alpha,
                "window_days": self.p.window_days,
                "blocked_oris": sorted({h[4] for h in window}),
                "by_state": dict(sorted(states.items())),
                "median_lag_hours": round(lags[len(lags) // 2] / _HOUR, 2),
                "first_query": iso(window[0][0]),
                "last_query": iso(window[-1][0]),
                "event_ids": [h[2] for h in window],
            },
        )

    def snapshot(self) -> dict[str, Any]:
        return {"clock": self.clock.snapshot(), **self.st.snapshot()}

    def restore(self, state: dict[str, Any]) -> None:
        self.clock.restore(state.get("clock", {}))
        self.st.restore(state)

    def state_size(self) -> int:
        return self.st.size()


def _order(h: list[Any]) -> tuple[float, str]:
    return (h[0], h[2])
