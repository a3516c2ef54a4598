"""Photo-harvesting test of `photo_face_match`: a requester's photo-request share far above normal.

Photo-capable queries (DQ, DQG, KQ, CPQ) per ORI per hour, kept for the last `share_window_hours`.
"Normal" is two things: the ORI's peer group (median and MAD of peers' logit shares, so heterogeneous
groups such as federal components with 30-50% investigative ORIs stay quiet) and the ORI's own history
(exponentially weighted daily counts, left untouched by days it was flagged, so a harvest does not
teach the baseline). Before an ORI has history, a stronger margin over its peers is required.
"""

from __future__ import annotations

import math
from typing import Any

from stream.detectors._rarity import binom_sf, inv_logit, logit, robust_center_scale, shrunk_share
from stream.detectors._ticks import align
from stream.records import Agency, Query

_HOUR = 3600.0
PHOTO_KEYS = frozenset({"DQ", "DQG", "KQ", "CPQ"})
_MIN_PEERS = 5


def photo_request(q: Query) -> bool:
    return q.image_requested or q.message_key == "CPQ"


def photo_capable(q: Query) -> bool:
    """Queries that could carry a photo request: the share's denominator."""
    return q.message_key in PHOTO_KEYS or q.image_requested


def _coarse(agency: Agency) -> str:
    return "federal" if agency.federal else "local"


class PhotoShare:
    def __init__(self, p: Any) -> None:
        self.p = p
        self.hours: dict[str, dict[str, list[int]]] = {}  # ori -> hour -> [eligible, photo]
        self.history: dict[str, list[float]] = {}  # ori -> [n, k] exponentially weighted
        self.groups: dict[str, list[str]] = {}  # ori -> [peer_group, coarse group]
        self.flagged_days: dict[str, list[float]] = {}  # ori -> day starts touched by a flagged window
        self.quiet_until: dict[str, float] = {}
        self.peers: dict[str, list[float]] = {}  # group -> [median logit, sigma]

    def add(self, q: Query) -> None:
        if not q.first_of_logical or not photo_capable(q):
            return
        row = self.hours.setdefault(q.ori, {}).setdefault(str(int(align(q.ts, _HOUR))), [0, 0])
        row[0] += 1
        row[1] += photo_request(q)
        self.groups[q.ori] = [q.agency.peer_group, _coarse(q.agency)]

    def window(self, ori: str, boundary: float) -> tuple[int, int, float]:
        lo = boundary - self.p.share_window_hours * _HOUR
        rows = [(float(h), v) for h, v in self.hours.get(ori, {}).items() if lo <= float(h) < boundary]
        if not rows:
            return 0, 0, boundary
        return sum(v[0] for _, v in rows), sum(v[1] for _, v in rows), min(h for h, _ in rows)

    def refresh_peers(self, boundary: float) -> None:
        """Peer statistics from every ORI's history plus its current window (robust to outliers)."""
        members: dict[str, list[float]] = {}
        for ori, (group, coarse) in self.groups.items():
            n, k, _ = self.window(ori, boundary)
            hn, hk = self.history.get(ori, (0.0, 0.0))
            if n + hn >= self.p.min_eligible:
                x = logit(shrunk_share(k + hk, n + hn))
                for g in (group, coarse, "all"):
                    members.setdefault(g, []).append(x)
        self.peers = {g: list(robust_center_scale(xs)) for g, xs in members.items() if len(xs) >= _MIN_PEERS}

    def _peer(self, ori: str) -> tuple[float, float] | None:
        for g in (*self.groups.get(ori, ["", ""]), "all"):
            if g in self.peers:
                m, s = self.peers[g]
                return m, s
        return None

    def test(self, ori: str, boundary: float) -> dict[str, Any] | None:
        """Evidence dict when the ORI's window is anomalous, else None."""
        if self.quiet_until.get(ori, -math.inf) > boundary:
            return None
        n, k, first = self.window(ori, boundary)
        peer = self._peer(ori)
        if k < self.p.min_photo_requests or n < self.p.min_eligible or peer is None:
            return None
        x = logit(shrunk_share(k, n))
        m, s = peer
        hn, hk = self.history.get(ori, (0.0, 0.0))
        has_history = hn >= self.p.min_history
        own = shrunk_share(hk, hn) if has_history else None
        need_peer = max(self.p.peer_z * s, math.log(self.p.min_odds_ratio))
        if not has_history:
            need_peer = max(need_peer, math.log(self.p.warmup_odds_ratio))
        if x - m < need_peer or (own is not None and x - logit(own) < math.log(self.p.min_odds_ratio)):
            return None
        p_ref = max(inv_logit(m), own or 0.0)
        p_value = binom_sf(k, n, p_ref)
        if p_value >= self.p.alpha:
            return None
        self.quiet_until[ori] = boundary + self.p.cooldown_hours * _HOUR
        days = {align(first, 86400.0), align(boundary - _HOUR, 86400.0)}
        self.flagged_days[ori] = sorted({*self.flagged_days.get(ori, []), *days})[-4:]
        return {
            "test": "photo_share",
            "photo_requests": k,
            "eligible_queries": n,
            "share": round(k / n, 4),
            "peer_group": self.groups[ori][0],
            "peer_median_share": round(inv_logit(m), 4),
            "peer_sigma_logit": round(s, 4),
            "own_history_share": None if own is None else round(own, 4),
            "reference_share": round(p_ref, 4),
            "p_value": p_value,
            "alpha": self.p.alpha,
            "window_hours": self.p.share_window_hours,
            "first_hour": first,
        }

    def close_day(self, day_end: float) -> None:
        """Fold the finished day into each ORI's history (unless flagged that day), prune old hours."""
        day_start = day_end - 86400.0
        for ori in list(self.hours):
            n, k = 0, 0
            for h, (hn, hk) in self.hours[ori].items():
                if day_start <= float(h) < day_end:
                    n, k = n + hn, k + hk
            old = self.history.get(ori, [0.0, 0.0])
            d = self.p.history_decay
            if day_start not in self.flagged_days.get(ori, []):
                self.history[ori] = [d * old[0] + n, d * old[1] + k]
            keep = day_end - self.p.share_window_hours * _HOUR
            self.hours[ori] = {h: v for h, v in self.hours[ori].items() if float(h) >= keep}
            if not self.hours[ori]:
                del self.hours[ori]
        self.history = {o: v for o, v in self.history.items() if v[0] >= 1.0 or o in self.hours}
        self.groups = {o: g for o, g in self.groups.items() if o in self.hours or o in self.history}
        self.quiet_until = {o: t for o, t in self.quiet_until.items() if t > day_end}

    def snapshot(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("hours", "history", "groups", "flagged_days", "quiet_until")}

    def restore(self, state: dict[str, Any]) -> None:
        for k in ("hours", "history", "groups", "flagged_days", "quiet_until"):
            setattr(self, k, state.get(k, {}))
