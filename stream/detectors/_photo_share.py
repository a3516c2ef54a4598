"""Photo-harvesting test of `photo_face_match`: a requester's photo-request share far above normal.

Photo-capable queries (DQ, DQG, KQ, CPQ, or any query asking for the image) are counted per ORI per
hour for the last 24 h (tested every hour) and per closed UTC day for the last `long_days` (tested at
midnight, for slower, sustained harvesting). "Normal" is two things: the peer group (median and MAD of
the peers' logit shares, so heterogeneous groups such as federal components with 30-50% investigative
ORIs stay quiet) and the ORI's own history (exponentially weighted daily counts of the days *before*
the long window, minus days it was flagged, so a harvest never teaches the baseline). Before an ORI has
enough history, a stronger margin over its peers is required.
"""

from __future__ import annotations

import math
from typing import Any

from stream.detectors._rarity import binom_sf, inv_logit, logit, robust_center_scale, shrunk_share
from stream.detectors._ticks import align
from stream.records import Agency, Query

_HOUR = 3600.0
_DAY = 86400.0
PHOTO_KEYS = frozenset({"DQ", "DQG", "KQ", "CPQ"})
_MIN_PEERS = 5
_KEYS = ("hours", "days", "history", "groups", "flagged_days", "quiet_until", "peers")


def photo_request(q: Query) -> bool:
    return q.image_requested or q.message_key == "CPQ"


def photo_capable(q: Query) -> bool:
    """Queries that could carry a photo request: the share's denominator."""
    return q.message_key in PHOTO_KEYS or q.image_requested


def _coarse(agency: Agency) -> str:
    return "federal" if agency.federal else "local"


def _sum(rows: dict[str, list[int]], lo: float, hi: float) -> tuple[int, int, float]:
    picked = [(float(t), v) for t, v in rows.items() if lo <= float(t) < hi]
    if not picked:
        return 0, 0, lo
    return sum(v[0] for _, v in picked), sum(v[1] for _, v in picked), min(t for t, _ in picked)


class PhotoShare:
    def __init__(self, p: Any) -> None:
        self.p = p
        self.hours: dict[str, dict[str, list[int]]] = {}  # ori -> hour -> [eligible, photo]
        self.days: dict[str, dict[str, list[int]]] = {}  # ori -> closed day -> [eligible, photo]
        self.history: dict[str, list[float]] = {}  # ori -> [n, k] weighted, days before `days`
        self.groups: dict[str, list[str]] = {}  # ori -> [peer_group, coarse group]
        self.flagged_days: dict[str, list[float]] = {}  # ori -> day starts inside a flagged window
        self.quiet_until: dict[str, float] = {}
        self.peers: dict[str, list[float]] = {}  # group -> [median logit, sigma]

    def add(self, q: Query) -> None:
        if not q.first_of_logical or not photo_capable(q):
            return
        row = self.hours.setdefault(q.ori, {}).setdefault(str(int(align(q.ts, _HOUR))), [0, 0])
        row[0] += 1
        row[1] += photo_request(q)
        self.groups[q.ori] = [q.agency.peer_group, _coarse(q.agency)]

    def window(self, ori: str, boundary: float, long: bool = False) -> tuple[int, int, float]:
        if long:
            return _sum(self.days.get(ori, {}), boundary - self.p.long_days * _DAY, boundary)
        return _sum(self.hours.get(ori, {}), boundary - self.p.share_window_hours * _HOUR, boundary)

    def refresh_peers(self, boundary: float) -> None:
        """Peer statistics from every ORI's recent days plus history (robust to outliers)."""
        members: dict[str, list[float]] = {}
        for ori, (group, coarse) in self.groups.items():
            n, k, _ = self.window(ori, boundary)
            dn, dk, _ = self.window(ori, align(boundary - self.p.share_window_hours * _HOUR, _DAY), True)
            hn, hk = self.history.get(ori, (0.0, 0.0))
            if n + dn + hn >= self.p.min_eligible:
                x = logit(shrunk_share(k + dk + hk, n + dn + hn))
                for g in (group, coarse, "all"):
                    members.setdefault(g, []).append(x)
        self.peers = {g: list(robust_center_scale(xs)) for g, xs in members.items() if len(xs) >= _MIN_PEERS}

    def _peer(self, ori: str) -> tuple[float, float] | None:
        for g in (*self.groups.get(ori, ["", ""]), "all"):
            if g in self.peers:
                m, s = self.peers[g]
                return m, s
        return None

    def test(self, ori: str, boundary: float, long: bool = False) -> dict[str, Any] | None:
        """Evidence when the ORI's window (24 h, or the long one) is anomalous, else None."""
        if self.quiet_until.get(ori, -math.inf) > boundary:
            return None
        n, k, first = self.window(ori, boundary, long)
        peer = self._peer(ori)
        if k < self.p.min_photo_requests or n < self.p.min_eligible or peer is None:
            return None
        x, (m, s) = logit(shrunk_share(k, n)), peer
        hn, hk = self.history.get(ori, (0.0, 0.0))
        # Own share shrunk toward the peers (empirical Bayes): a thin history cannot look extreme.
        w = self.p.min_history
        own = (hk + w * inv_logit(m)) / (hn + w) if hn >= self.p.min_history else None
        need_peer = max(
            self.p.peer_z * s, math.log(self.p.min_odds_ratio if own else self.p.warmup_odds_ratio)
        )
        if x - m < need_peer or (own is not None and x - logit(own) < math.log(self.p.min_odds_ratio)):
            return None
        # Test against a peer one spread above the median: groups that mix investigative and patrol ORIs
        # (e.g. other_federal) are heterogeneous, and a lone investigative ORI is not a harvester.
        p_ref = max(inv_logit(m + s), own or 0.0)
        p_value = binom_sf(k, n, p_ref)
        if p_value >= self.p.alpha:
            return None
        # Quiet until the long window no longer holds this episode's days (one finding per episode).
        self.quiet_until[ori] = boundary + max(self.p.cooldown_hours * _HOUR, self.p.long_days * _DAY)
        days = {align(first, _DAY) + i * _DAY for i in range(math.ceil((boundary - first) / _DAY))}
        self.flagged_days[ori] = sorted({*self.flagged_days.get(ori, []), *days})[-8:]
        return {
            "test": "photo_share", "photo_requests": k, "eligible_queries": n, "share": round(k / n, 4),
            "peer_group": self.groups[ori][0], "peer_median_share": round(inv_logit(m), 4),
            "peer_sigma_logit": round(s, 4), "own_history_share": None if own is None else round(own, 4),
            "reference_share": round(p_ref, 4), "p_value": p_value, "alpha": self.p.alpha,
            "window_hours": round((boundary - first) / _HOUR) if long else self.p.share_window_hours,
            "first_hour": first,
        }  # fmt: skip

    def close_day(self, day_end: float) -> None:
        """Move the finished day into `days`; the day leaving `days` goes into history (unless flagged)."""
        day_start, d = day_end - _DAY, self.p.history_decay
        for ori in sorted(set(self.hours) | set(self.days)):
            n, k, _ = _sum(self.hours.get(ori, {}), day_start, day_end)
            days = self.days.setdefault(ori, {})
            if n:
                days[str(int(day_start))] = [n, k]
            leaving = [t for t in days if float(t) < day_end - self.p.long_days * _DAY]
            old = self.history.get(ori, [0.0, 0.0])
            ln = sum(days[t][0] for t in leaving if float(t) not in self.flagged_days.get(ori, []))
            lk = sum(days[t][1] for t in leaving if float(t) not in self.flagged_days.get(ori, []))
            self.history[ori] = [d * old[0] + ln, d * old[1] + lk]
            for t in leaving:
                del days[t]
            if not days:
                del self.days[ori]
            hours = {h: v for h, v in self.hours.get(ori, {}).items() if float(h) >= day_end - _DAY}
            if hours:
                self.hours[ori] = hours
            else:
                self.hours.pop(ori, None)
        self.history = {o: v for o, v in self.history.items() if v[0] >= 1.0 or o in self.days}
        live = set(self.hours) | set(self.days) | set(self.history)
        self.groups = {o: g for o, g in self.groups.items() if o in live}
        self.quiet_until = {o: t for o, t in self.quiet_until.items() if t > day_end}

    def snapshot(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in _KEYS}

    def restore(self, state: dict[str, Any]) -> None:
        for k in _KEYS:
            setattr(self, k, state.get(k, {}))
