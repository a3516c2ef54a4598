"""Photo and face-recognition access: restricted requesters, photo harvesting, face-search bursts.

Three tests over face searches (`source == "face"`, FRS, `face_image`) and photo requests (IMQ/Y,
CPQ), all decided at hour boundaries from the events before them (`_ticks`):

(a) `restricted`: a face search or photo request by a requester the destination state restricts, into
    a state whose rules ban face recognition / photos. One finding per ORI, state and aligned hour;
    queries carrying a judicial predicate the statutes accept are left to `policy_violation`.
(b) `photo_share` (`_photo_share`): a photo-request share far above the peer group and own history.
(c) `face_burst` (`_face_burst`): face searches far above the requester's own rate.
Responses add evidence: photos returned, face candidates returned.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import Field

from stream.detectors import register
from stream.detectors._face_burst import FaceBurst, face_search
from stream.detectors._photo_share import PhotoShare, photo_capable, photo_request
from stream.detectors._ticks import TickClock, align
from stream.detectors.base import Detector, DetectorContext, Params
from stream.findings import Finding, iso
from stream.records import Query, Response

_HOUR = 3600.0
_REASONS = {"face_search_banned": "face", "photo_request_banned": "photo"}


class PhotoFaceMatchParams(Params):
    exempt_predicates: tuple[str, ...] = Field(("judicial_warrant", "court_order"))
    share_window_hours: int = Field(24, ge=1, le=24 * 7, description="Photo-share window.")
    long_days: int = Field(3, ge=1, le=14, description="Long photo-share window, whole UTC days.")
    min_photo_requests: int = Field(8, ge=1, description="Photo requests in the window, at least.")
    min_eligible: int = Field(10, ge=1, description="Photo-capable queries in the window, at least.")
    min_odds_ratio: float = Field(3.0, gt=1, description="Share odds over peers and own history.")
    warmup_odds_ratio: float = Field(5.0, gt=1, description="Share odds over peers without history.")
    peer_z: float = Field(3.5, gt=0, description="Robust z (logit scale) over the peer group.")
    peer_refresh_hours: int = Field(3, ge=1, le=24, description="Peer statistics recomputed this often.")
    min_history: float = Field(30.0, ge=1, description="Weighted own queries before history counts.")
    history_decay: float = Field(0.85, gt=0, lt=1, description="Daily decay of own history.")
    cooldown_hours: float = Field(48.0, ge=1, description="Quiet time after a photo-share finding.")
    min_face_searches: int = Field(10, ge=1, description="Face searches in the window, at least.")
    face_ratio: float = Field(4.0, gt=1, description="Searches over the expected count, at least.")
    face_window_hours: int = Field(4, ge=1, le=24, description="Longer burst window (plus 1 hour).")
    face_peak_factor: float = Field(3.0, ge=1, description="Working-hour peak over the mean rate.")
    face_floor_rate: float = Field(0.25, gt=0, description="Reference searches/hour, at least.")
    face_warmup_rate: float = Field(3.0, gt=0, description="Reference searches/hour during warm-up.")
    warmup_hours: float = Field(24.0, ge=0, description="Hours before own face history counts.")
    face_history_decay_per_day: float = Field(0.8, gt=0, lt=1)
    face_cooldown_hours: float = Field(6.0, ge=1, description="Quiet time after a face-burst finding.")
    alpha: float = Field(1e-7, gt=0, lt=1, description="Max chance probability for (b) and (c).")


@register
class PhotoFaceMatch(Detector):
    kind = "photo_face_match"
    params_model = PhotoFaceMatchParams

    def __init__(self, params: Params, ctx: DetectorContext) -> None:
        super().__init__(params, ctx)
        self.p: PhotoFaceMatchParams = params  # type: ignore[assignment]
        self.clock = TickClock(_HOUR)
        self.share = PhotoShare(self.p)
        self.face = FaceBurst(self.p)
        self.restricted: dict[str, dict[str, Any]] = {}  # "ori|state|hour" -> counts and samples
        self.dirty: dict[float, set[str]] = {}  # hour -> ORIs active in it

    def _banned(self, q: Query, state: str) -> tuple[str, str | None] | None:
        """The ban `q` breaks in `state` ("face" / "photo") and its rule id, if any.

        The policy's own rule check is preferred (it honours carve-outs, per-rule requesters, dates and
        accepted predicates); a bare `restricts` + ban-flags policy object is also understood.
        """
        rules = self.ctx.policy.state(state) if self.ctx.policy is not None else None
        if rules is None or q.predicate in self.p.exempt_predicates:
            return None
        if hasattr(rules, "violations"):
            for hit in rules.violations(q):
                if hit.reason in _REASONS:
                    return _REASONS[hit.reason], hit.rule_id
            return None
        if not rules.restricts(q.agency, q.ts):
            return None
        if face_search(q) and rules.face_recognition_ban:
            return "face", None
        if photo_request(q) and rules.photo_ban:
            return "photo", None
        return None

    def on_query(self, q: Query) -> Iterable[Finding]:
        if not (face_search(q) or photo_capable(q)) or not self.clock.admit(q.ts):
            return ()
        self.share.add(q)
        self.face.add(q)
        self.dirty.setdefault(align(q.ts, _HOUR), set()).add(q.ori)
        if face_search(q) or photo_request(q):
            for state in q.state_destinations:
                self._note_restricted(q, state)
        return ()

    def _note_restricted(self, q: Query, state: str) -> None:
        ban = self._banned(q, state)
        if ban is None:
            return
        key = f"{q.ori}|{state}|{int(align(q.ts, _HOUR))}"
        row = self.restricted.setdefault(key, {"face": 0, "photo": 0, "photos_returned": 0, "candidates": 0})
        row[ban[0]] += 1
        row["rule"] = min(filter(None, (row.get("rule"), ban[1])), default=None)
        row.setdefault("ts", []).append(q.ts)
        row.setdefault("event_ids", []).append(q.event_id)

    def on_response(self, r: Response, q: Query | None) -> Iterable[Finding]:
        if q is None or not self.clock.admit(r.ts):
            return ()
        if face_search(q) and r.face_candidates:
            self.face.add_candidates(q.ori, r.ts, r.face_candidates)
        # Only answers within the query's own hour: later ones may come after that hour was decided.
        hour = align(q.ts, _HOUR)
        row = self.restricted.get(f"{q.ori}|{r.responding_state}|{int(hour)}")
        if row is not None and align(r.ts, _HOUR) == hour and q.event_id in row["event_ids"]:
            row["photos_returned"] += int(r.photo_returned)
            row["candidates"] += r.face_candidates or 0
        return ()

    def on_watermark(self, watermark: float) -> Iterable[Finding]:
        out: list[Finding] = []
        for boundary in self.clock.due(watermark):
            out.extend(self._close_restricted(boundary))
            oris: set[str] = set()
            for bucket in [b for b in self.dirty if b < boundary]:
                oris |= self.dirty.pop(bucket)
            if boundary % (self.p.peer_refresh_hours * _HOUR) == 0 or not self.share.peers:
                self.share.refresh_peers(boundary)  # peers move slowly; all ORIs are scanned
            for ori in sorted(oris):
                for evidence in (self.share.test(ori, boundary), self.face.test(ori, boundary)):
                    if evidence is not None:
                        out.append(self._rate_finding(ori, boundary, evidence))
            self.face.close_hour(boundary)
            if boundary % 86400 == 0:
                self.share.close_day(boundary)
                for ori in sorted(self.share.days):  # slower, sustained harvesting over whole days
                    evidence = self.share.test(ori, boundary, long=True)
                    if evidence is not None:
                        out.append(self._rate_finding(ori, boundary, evidence))
        return out

    def _close_restricted(self, boundary: float) -> list[Finding]:
        out = []
        for key in sorted(k for k in self.restricted if float(k.rsplit("|", 1)[1]) < boundary):
            row = self.restricted.pop(key)
            ori, state, hour = key.split("|")
            face, photo = row["face"], row["photo"]
            what = "face-recognition searches" if face else "photo requests"
            ts = sorted(row["ts"])
            out.append(Finding(
                detector=self.kind, severity="critical" if face else "high", ori=ori,
                group_key=f"restricted|{ori}|{state}", window_start=float(hour), window_end=ts[-1],
                title=f"Restricted requester {ori}: {face + photo} {what} into {state} where banned",
                summary="A requester the destination state restricts asked for DMV photos or face matches.",
                destination_state=state, policy_rule_id=row.get("rule"),
                evidence={"test": "restricted", "face_searches": face, "photo_requests": photo,
                          "photos_returned": row["photos_returned"], "candidates_returned": row["candidates"],
                          "first_query": iso(ts[0]), "event_ids": sorted(row["event_ids"])[:50]},
            ))  # fmt: skip
        return out

    def _rate_finding(self, ori: str, boundary: float, ev: dict[str, Any]) -> Finding:
        face = ev["test"] == "face_burst"
        what = f"{ev['face_searches']} face searches" if face else f"photo-request share {ev['share']:.0%}"
        return Finding(
            detector=self.kind, severity="high" if face else "warning", ori=ori,
            group_key=f"{ev['test']}|{ori}", window_start=ev.pop("first_hour"), window_end=boundary,
            title=f"{'Face-search burst' if face else 'Photo harvesting'}: {ori} {what} in "
            f"{ev['window_hours']} h, far above its baseline",
            summary="Photo / face-recognition use far above this requester's own and its peers' norm.",
            evidence=ev,
        )  # fmt: skip

    def snapshot(self) -> dict[str, Any]:
        return {
            "clock": self.clock.snapshot(), "share": self.share.snapshot(), "face": self.face.snapshot(),
            "restricted": self.restricted, "dirty": [[b, sorted(o)] for b, o in sorted(self.dirty.items())],
        }  # fmt: skip

    def restore(self, state: dict[str, Any]) -> None:
        self.clock.restore(state.get("clock", {}))
        self.share.restore(state.get("share", {}))
        self.face.restore(state.get("face", {}))
        self.restricted = state.get("restricted", {})
        self.dirty = {float(b): set(o) for b, o in state.get("dirty", [])}

    def state_size(self) -> int:
        return len(self.share.hours) + len(self.share.history) + len(self.face.rate) + len(self.restricted)
