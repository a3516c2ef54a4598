"""new_requester: an ORI never seen before starts querying DMV data, after the monitor has learned the
normal set of requesters.

For the first `warmup_s` of event time every requester is simply learned. After that, an unseen ORI
becomes a candidate; it is reported once its logical queries within `window_s` of its first query reach
the larger of `min_queries` (`min_queries_federal`, default 1, for federal and immigration-enforcement
agencies, which are also rated high, as are ORIs nobody describes) and a rarity bound: an agency
unseen for the T seconds observed so far has a rate below about 3/T (95% bound), so the count must be
one such a rare agency reaches in
`window_s` with probability under `false_rate` (`false_rate_federal` for federal agencies). The
bound falls as the monitor learns longer, towards the plain minimum. ORIs neither in the registry
nor described by the event skip the rarity bound.
A candidate that stays below the bar for `window_s` is learned as a rare, benign requester.
Counting happens in aligned hours closed by the watermark, so whether and when a candidate fires depends
only on the set of its events; the finding's window starts at the aligned hour of its first query.
The known set is a plain set of ORIs (18,000+ agencies is small), capped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from pydantic import Field

from stream.detectors import register
from stream.detectors._robust import HOUR
from stream.detectors.base import Detector, DetectorContext, Params
from stream.findings import Finding
from stream.records import Query


class NewRequesterParams(Params):
    warmup_s: float = Field(86400.0, ge=0, description="Event time spent learning known requesters.")
    min_queries: int = Field(5, ge=1, description="Queries by a new non-federal ORI before it is reported.")
    min_queries_federal: int = Field(1, ge=1, description="Same, for federal/immigration agencies.")
    window_s: float = Field(86400.0, gt=0, description="The queries must come within this of the first.")
    false_rate: float = Field(1e-6, gt=0, lt=1, description="Tolerated chance that a rare agency fires.")
    false_rate_federal: float = Field(1e-3, gt=0, lt=1, description="Same, federal (weighted up).")
    report_described_local: bool = Field(
        False,
        description="Also report non-federal ORIs that the registry or the switch describes (rare local "
        "agencies are expected requesters; their sweeps are bulk_sweep's).",
    )
    max_known: int = Field(1_000_000, ge=1000, description="Cap on the known-ORI set.")


@register
class NewRequester(Detector):
    kind = "new_requester"
    params_model = NewRequesterParams

    def __init__(self, params: Params, ctx: DetectorContext) -> None:
        super().__init__(params, ctx)
        self.p: NewRequesterParams = params  # type: ignore[assignment]
        self._reset()

    def _reset(self) -> None:
        self.first_ts: float | None = None
        self.known: set[str] = set()
        # ORI -> {"first": ts, "hours": {hour: n}, "fed": bool, "imm": bool, "reg": bool, "cat": str}
        self.cand: dict[str, dict[str, Any]] = {}
        self.wm = float("-inf")

    def _warming(self, ts: float) -> bool:
        return self.first_ts is None or ts < self.first_ts + self.p.warmup_s

    def on_query(self, q: Query) -> Iterable[Finding]:
        if not q.first_of_logical or q.ori in self.known or q.ts < self.wm:
            return ()
        self.first_ts = q.ts if self.first_ts is None else min(self.first_ts, q.ts)
        if self._warming(q.ts):
            self._learn(q.ori)
            self.cand.pop(q.ori, None)  # an earlier (out-of-order) post-warm-up sighting was not new
            return ()
        c = self.cand.setdefault(q.ori, {"first": q.ts, "hours": {}, "fed": False, "imm": False})
        c["first"] = min(c["first"], q.ts)
        hour = str(int(q.ts // HOUR) * HOUR)
        c["hours"][hour] = c["hours"].get(hour, 0) + 1
        c["fed"] = c["fed"] or q.agency.federal
        c["imm"] = c["imm"] or q.agency.immigration_enforcement
        c["reg"] = q.agency.known
        c["cat"] = q.agency.component or q.agency.category
        return ()

    def _learn(self, ori: str) -> None:
        if len(self.known) < self.p.max_known:
            self.known.add(ori)

    def on_watermark(self, watermark: float) -> Iterable[Finding]:
        self.wm = max(self.wm, watermark)
        out: list[Finding] = []
        for ori in sorted(self.cand):
            c = self.cand[ori]
            first = c["first"]
            horizon = min(first + self.p.window_s, watermark)
            n = sum(v for h, v in c["hours"].items() if float(h) + HOUR <= horizon)
            need = self.required(c)
            if n >= need and self._reportable(c):
                out.append(self._finding(ori, c, n, need, float(int(first // HOUR) * HOUR), horizon))
            elif watermark < first + self.p.window_s + HOUR:
                continue  # still counting
            del self.cand[ori]
            self._learn(ori)
        return out

    def _reportable(self, c: dict[str, Any]) -> bool:
        return bool(c["fed"] or c["imm"] or not c.get("reg", True) or self.p.report_described_local)

    def rarity_rate(self, c: dict[str, Any]) -> float:
        """Expected queries in `window_s` of an agency at the 95% upper rate bound after T quiet seconds."""
        observed = max(HOUR, c["first"] - (self.first_ts or c["first"]))
        return 3.0 * self.p.window_s / observed

    def required(self, c: dict[str, Any]) -> int:
        need = self.p.min_queries_federal if (c["fed"] or c["imm"]) else self.p.min_queries
        if not c.get("reg", True):
            return need
        lam, n, tail, term = self.rarity_rate(c), 0, 1.0, math.exp(-self.rarity_rate(c))
        rate = self.p.false_rate_federal if (c["fed"] or c["imm"]) else self.p.false_rate
        while tail >= rate and n < 1000:  # P(X >= n), walking n up
            tail -= term
            n += 1
            term *= lam / n
        return max(need, n)

    def _finding(self, ori: str, c: dict[str, Any], n: int, need: int, start: float, end: float) -> Finding:
        federal = c["fed"] or c["imm"]
        evidence = {
            "observed_value": n,
            "threshold": need,
            "baseline": round(self.rarity_rate(c), 4),
            "baseline_meaning": "queries a rare agency makes in window_s (95% rate bound)",
            "false_rate": self.p.false_rate_federal if federal else self.p.false_rate,
            "known_requesters": len(self.known),
            "first_query_ts": c["first"],
            "federal": c["fed"],
            "immigration_enforcement": c["imm"],
            "described_by_registry_or_event": c.get("reg", False),
            "agency_class": c.get("cat"),
            "window_s": self.p.window_s,
            "warmup_ended_ts": (self.first_ts or 0.0) + self.p.warmup_s,
        }
        return Finding(
            detector=self.kind,
            # an ORI that neither the registry nor the switch can describe is as serious as a federal one
            severity="high" if federal or not c.get("reg", True) else "warning",
            ori=ori,
            group_key=ori,
            window_start=start,
            window_end=max(end, start + HOUR),
            title=f"New requester {ori} querying DMV data" + (" (federal)" if federal else ""),
            summary=f"{ori} was never seen before; {n} queries since its first one.",
            evidence=evidence,
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "first_ts": self.first_ts,
            "known": sorted(self.known),
            "cand": self.cand,
            "wm": None if self.wm == float("-inf") else self.wm,
        }

    def restore(self, state: dict[str, Any]) -> None:
        self._reset()
        self.first_ts = state.get("first_ts")
        self.known = set(state.get("known", []))
        self.cand = {k: dict(v, hours=dict(v["hours"])) for k, v in state.get("cand", {}).items()}
        self.wm = float("-inf") if state.get("wm") is None else float(state["wm"])

    def state_size(self) -> int:
        return len(self.known) + len(self.cand)
