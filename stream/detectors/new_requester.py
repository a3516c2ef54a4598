"""new_requester: an ORI never seen before starts querying DMV data, after the monitor has learned the
normal set of requesters.

For the first `warmup_s` of event time every requester is simply learned. After that, an unseen ORI
becomes a candidate. Whether "never seen" means anything depends on who the ORI is:
- an ORI that neither the registry nor the event describes is new by definition, and is reported once
  its logical queries within `window_s` of its first one reach `min_queries_federal` if it looks
  federal, else `min_queries`;
- a registered federal or immigration-enforcement ORI (and, with `report_described_local`, any other
  described ORI) is only surprising if it should have been seen. Its peer group (registry component,
  else category) tells how often such ORIs query: from the per-ORI counts of the group's seen ORIs
  (`_requester_peers`: each seen peer's rate, weighted for the unseen ORIs like it) comes the chance
  that one of them stays unseen for the T seconds before the candidate's first query. It is reported
  only when that chance is below `unseen_chance` (with at least `min_peers` seen peers; with fewer,
  unseen is no evidence) AND its count passes the rarity bound: an agency unseen for T has a rate
  below about 3/T (95% bound), so the count must be one such a rare agency reaches in `window_s` with
  probability under `false_rate` (`false_rate_federal` for federal agencies), and at least the
  plain minimum. So a registered ICE office of a group whose offices make a query every few days is
  not "new" for being unseen after a day; one of a group whose offices all query hourly is.
A candidate that stays below the bar for `window_s` is learned as a rare, benign requester.
Counting happens in aligned hours closed by the watermark and candidates are only re-checked when the
watermark crosses an hour boundary, so whether and when a candidate fires depends only on the set of
its events and its peers'; the finding's window starts at the aligned hour of its first query. The
known set is a plain set of ORIs (18,000+ agencies is small), capped; so are the peer counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from pydantic import Field

from stream.detectors import register
from stream.detectors._requester_peers import PeerRates, p_unseen
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
    unseen_chance: float = Field(
        1e-3,
        gt=0,
        lt=1,
        description="A registered ORI is reported only if an ORI querying at its peers' rate would stay "
        "unseen this long with a chance below this.",
    )
    min_peers: int = Field(5, ge=1, description="Seen peers needed before unseen counts as evidence.")
    report_described_local: bool = Field(
        False,
        description="Also report non-federal ORIs that the registry or the switch describes (rare local "
        "agencies are expected requesters; their sweeps are bulk_sweep's).",
    )
    max_known: int = Field(1_000_000, ge=1000, description="Cap on the known-ORI set (and peer counts).")


@lru_cache(maxsize=4096)
def rarity_count(lam: float, false_rate: float) -> int:
    """The smallest n with P(X >= n) < false_rate for X ~ Poisson(lam) (cached: re-asked each hour)."""
    n, tail, term = 0, 1.0, math.exp(-lam)
    while tail >= false_rate and n < 1000:  # P(X >= n), walking n up
        tail -= term
        n += 1
        term *= lam / n
    return n


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
        # ORI -> {"first": ts, "hours": {hour: n}, "fed", "imm", "reg": bool, "cat", "grp": str}
        self.cand: dict[str, dict[str, Any]] = {}
        self.peers = PeerRates(self.p.max_known)
        self.wm = float("-inf")
        self._checked = float("-inf")  # hour boundary of the last candidate pass (not state: idempotent)

    def _warming(self, ts: float) -> bool:
        return self.first_ts is None or ts < self.first_ts + self.p.warmup_s

    def on_query(self, q: Query) -> Iterable[Finding]:
        if not q.first_of_logical or q.ts < self.wm:
            return ()
        if q.agency.known:
            self.peers.add(q.ts, q.agency.peer_group, q.ori)
        if q.ori in self.known:
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
        c["reg"] = c.get("reg", False) or q.agency.known  # described by any event: order-independent
        c["cat"] = min(c.get("cat") or "~", q.agency.component or q.agency.category)
        c["grp"] = min(c.get("grp") or "~", q.agency.peer_group)
        return ()

    def _learn(self, ori: str) -> None:
        if len(self.known) < self.p.max_known:
            self.known.add(ori)

    def on_watermark(self, watermark: float) -> Iterable[Finding]:
        self.wm = max(self.wm, watermark)
        if not math.isfinite(self.wm):
            return ()
        self.peers.close(self.wm, keep_from=self.wm - self.p.window_s - 3 * HOUR)
        bound = float(math.floor(self.wm / HOUR) * HOUR)
        if bound <= self._checked:
            return ()  # counts and peer summaries only change at hour boundaries
        self._checked = bound
        out: list[Finding] = []
        for ori in sorted(self.cand):
            c = self.cand[ori]
            first = c["first"]
            horizon = min(first + self.p.window_s, bound)
            if self._reportable(c):
                n = sum(v for h, v in c["hours"].items() if float(h) + HOUR <= horizon)
                need, peer = self.required(c), self.peer_evidence(c)
                if n >= need and (peer is None or peer["p_unseen"] < self.p.unseen_chance):
                    out.append(self._finding(ori, c, n, need, peer, horizon))
                    self._forget(ori)
                    continue
            if bound >= first + self.p.window_s + HOUR:
                self._forget(ori)
        return out

    def _forget(self, ori: str) -> None:
        del self.cand[ori]
        self._learn(ori)

    def _reportable(self, c: dict[str, Any]) -> bool:
        return bool(c["fed"] or c["imm"] or not c.get("reg", True) or self.p.report_described_local)

    def peer_evidence(self, c: dict[str, Any]) -> dict[str, Any] | None:
        """For a described ORI: how likely its peers' rate leaves it unseen until its first query
        (None for an ORI nobody describes: it is new by definition)."""
        if not c.get("reg", True):
            return None
        group = c.get("grp") or c.get("cat") or "unknown"
        boundary = int(c["first"] // HOUR) * HOUR
        stat, t0 = self.peers.at(boundary, group), self.peers.t0
        span = boundary - t0 if t0 is not None else 0.0
        unseen = c["first"] - (self.first_ts if self.first_ts is not None else c["first"])
        stat = stat or {}
        peers = sum(stat.values())
        p = 1.0  # too little known about the group: being unseen is no evidence
        if peers >= self.p.min_peers and span >= HOUR:
            p = p_unseen(stat, unseen / span)
        return {
            "peer_group": group,
            "peers_seen": peers,
            "peer_counts": dict(stat),
            "peer_span_s": span,
            "unseen_s": unseen,
            "p_unseen": p,
        }

    def rarity_rate(self, c: dict[str, Any]) -> float:
        """Expected queries in `window_s` of an agency at the 95% upper rate bound after T quiet seconds."""
        observed = max(HOUR, c["first"] - (self.first_ts or c["first"]))
        return 3.0 * self.p.window_s / observed

    def required(self, c: dict[str, Any]) -> int:
        federal = c["fed"] or c["imm"]
        need = self.p.min_queries_federal if federal else self.p.min_queries
        if not c.get("reg", True):
            return need
        rate = self.p.false_rate_federal if federal else self.p.false_rate
        return max(need, rarity_count(self.rarity_rate(c), rate))

    def _finding(
        self, ori: str, c: dict[str, Any], n: int, need: int, peer: dict[str, Any] | None, end: float
    ) -> Finding:
        federal = c["fed"] or c["imm"]
        start = float(int(c["first"] // HOUR) * HOUR)
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
        if peer is not None:  # why unseen was surprising: p_unseen(peer_counts, unseen_s / peer_span_s)
            evidence.update(peer, unseen_chance=self.p.unseen_chance)
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
            "peers": self.peers.snapshot(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        self._reset()
        self.first_ts = state.get("first_ts")
        self.known = set(state.get("known", []))
        self.cand = {k: dict(v, hours=dict(v["hours"])) for k, v in state.get("cand", {}).items()}
        self.wm = float("-inf") if state.get("wm") is None else float(state["wm"])
        self.peers.restore(state.get("peers", {}))  # older snapshots: peers counted from now on

    def state_size(self) -> int:
        return len(self.known) + len(self.cand) + self.peers.size
