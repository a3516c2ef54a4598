"""Sensitive targeting: requesters who single out people without an SSN or with AB 60-type licenses.

Two per-ORI, per-UTC-day tests, decided when the watermark closes the day:

(a) `s2s_placeholder`: S2S look-ups selecting on the "99999" SSN placeholder (brief 4.4). The share is
    compared with the pooled share of the other S2S requesters of the same home state (their history
    plus the same day; all states when that pool is thin) and with the ORI's own history.
(b) `flagged_records`: answered records carrying `no_ssn` / `undocumented_eligible_license` flags, of
    look-ups that did not themselves select on the placeholder.
    Flag rates differ a lot by issuing state, so the expectation is per responding state: the ORI's
    answered records from each state times the share of flagged records all other requesters got
    from that state. The observed count must be a multiple of that and improbable under it.
Flags are only counted, never kept per person.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import Field

from stream.detectors import register
from stream.detectors._rarity import binom_sf, poisson_sf
from stream.detectors._sensitive_state import SensitiveState
from stream.detectors._ticks import TickClock
from stream.detectors.base import Detector, DetectorContext, Params
from stream.findings import Finding
from stream.records import Query, Response

_DAY = 86400.0


class SensitiveTargetingParams(Params):
    flags: tuple[str, ...] = Field(("no_ssn", "undocumented_eligible_license", "ssn_placeholder_99999"))
    min_placeholder: int = Field(5, ge=1, description="99999 look-ups per ORI-day, at least.")
    placeholder_ratio: float = Field(3.0, gt=1, description="Share over the reference, at least.")
    placeholder_excess: float = Field(0.05, ge=0, description="Share minus reference, at least.")
    min_flagged: int = Field(8, ge=1, description="Flagged answered records per ORI-day, at least.")
    flagged_ratio: float = Field(2.5, gt=1, description="Flagged records over expected, at least.")
    flagged_excess: float = Field(5.0, ge=0, description="Flagged records minus expected, at least.")
    min_pool: float = Field(200.0, ge=1, description="Pool size before a state/home baseline is used.")
    min_history: float = Field(50.0, ge=1, description="Own weighted S2S look-ups before history counts.")
    rate_floor: float = Field(0.002, gt=0, lt=1, description="Reference shares never go below this.")
    history_decay: float = Field(0.85, gt=0, lt=1, description="Daily decay of baselines.")
    alpha: float = Field(1e-6, gt=0, lt=1, description="Max chance probability of the observed count.")


@register
class SensitiveTargeting(Detector):
    kind = "sensitive_targeting"
    params_model = SensitiveTargetingParams

    def __init__(self, params: Params, ctx: DetectorContext) -> None:
        super().__init__(params, ctx)
        self.p: SensitiveTargetingParams = params  # type: ignore[assignment]
        self.clock = TickClock(_DAY)
        self.st = SensitiveState(self.p)

    def on_query(self, q: Query) -> Iterable[Finding]:
        if q.source == "s2s" and q.first_of_logical and self.clock.admit(q.ts):
            self.st.add_s2s(q)
        return ()

    def on_response(self, r: Response, q: Query | None) -> Iterable[Finding]:
        # a look-up that selected on the 99999 placeholder is answered with a no-SSN record by definition:
        # that selection is test (a)'s, against S2S peers; counted here it would make every DMV's own
        # S2S pointer ORI look like it targets flagged records (3% of applicants have no SSN)
        if q is not None and r.answered and not q.ssn_placeholder and self.clock.admit(r.ts):
            self.st.add_record(q, r, any(f in self.p.flags for f in r.record_flags))
        return ()

    def on_watermark(self, watermark: float) -> Iterable[Finding]:
        out: list[Finding] = []
        for boundary in self.clock.due(watermark):
            day = boundary - _DAY
            flagged: set[str] = set()
            for ori in self.st.s2s_oris(day):
                finding = self._placeholder(ori, day)
                if finding is not None:
                    flagged.add(ori)
                    out.append(finding)
            for ori in self.st.record_oris(day):
                finding = self._flagged(ori, day)
                if finding is not None:
                    out.append(finding)
            self.st.close_day(day, flagged)
        return out

    def _placeholder(self, ori: str, day: float) -> Finding | None:
        n, k = self.st.s2s_counts(ori, day)
        if k < self.p.min_placeholder:
            return None
        peer, own = self.st.s2s_reference(ori, day)
        ref = max(peer, own or 0.0, self.p.rate_floor)
        share = k / n
        if share < self.p.placeholder_ratio * ref or share - ref < self.p.placeholder_excess:
            return None
        p_value = binom_sf(k, n, ref)
        if p_value >= self.p.alpha:
            return None
        evidence = {
            "test": "s2s_placeholder", "placeholder_lookups": k, "s2s_lookups": n, "share": round(share, 4),
            "peer_share": round(peer, 6), "own_history_share": None if own is None else round(own, 6),
            "reference_share": round(ref, 6), "ratio_threshold": self.p.placeholder_ratio,
            "p_value": p_value, "alpha": self.p.alpha,
        }  # fmt: skip
        title = f"S2S look-ups on the 99999 SSN placeholder: {ori} {k} of {n} ({share:.0%}) in a day"
        return self._finding(ori, day, "s2s_placeholder", title, evidence)

    def _flagged(self, ori: str, day: float) -> Finding | None:
        n, k, expected, by_state = self.st.record_expectation(ori, day)
        if k < self.p.min_flagged or k < self.p.flagged_ratio * expected:
            return None
        if k - expected < self.p.flagged_excess:
            return None
        p_value = poisson_sf(k, expected)
        if p_value >= self.p.alpha:
            return None
        evidence = {
            "test": "flagged_records", "flagged_records": k, "answered_records": n,
            "expected": round(expected, 4), "ratio": round(k / max(expected, 1e-9), 2),
            "ratio_threshold": self.p.flagged_ratio, "by_state": by_state,
            "p_value": p_value, "alpha": self.p.alpha,
        }  # fmt: skip
        title = f"Records without SSN / AB 60-type licenses: {ori} got {k} vs {expected:.1f} expected"
        return self._finding(ori, day, "flagged_records", title, evidence)

    def _finding(self, ori: str, day: float, test: str, title: str, evidence: dict[str, Any]) -> Finding:
        return Finding(
            detector=self.kind,
            severity="high",
            ori=ori,
            group_key=f"{test}|{ori}",
            window_start=day,
            window_end=day + _DAY,
            title=title,
            summary="A requester's look-ups fall disproportionately on people without an SSN.",
            evidence=evidence,
        )

    def snapshot(self) -> dict[str, Any]:
        return {"clock": self.clock.snapshot(), **self.st.snapshot()}

    def restore(self, state: dict[str, Any]) -> None:
        self.clock.restore(state.get("clock", {}))
        self.st.restore(state)

    def state_size(self) -> int:
        return self.st.size()
