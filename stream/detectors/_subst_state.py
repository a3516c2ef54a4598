"""Bounded state of the agency-substitution detector: blocks, recent queries, hits and volumes.

Kept apart from the detector so the detector module reads as the decision rule. Everything here is
plain lists and dicts with string keys, so a snapshot is JSON as is.
"""

from __future__ import annotations

from typing import Any

from stream.detectors._ticks import align
from stream.records import Agency, Query, Response

_HOUR = 3600.0
_DAY = 86400.0
_MAX_BLOCKS_PER_SUBJECT = 4
_MAX_HITS_PER_PAIR = 400
PARTNER = "partner"  # volume key of partner-component look-ups (and their leaks)


def agency_key(a: Agency) -> str:
    """Who counts as "the same agency": a federal component as a whole, else the ORI itself."""
    return f"c:{a.component}" if a.component else f"o:{a.ori}"


def _skey(q: Query) -> str:
    if q.state_destinations:
        return q.state_destinations[0]
    return "NL" if q.multi_state else "*"


class SubstitutionState:
    def __init__(
        self, span: float, same_state: bool, prior_queries: float, partners: tuple[str, ...], restricted: str
    ) -> None:
        self.span = span
        self.partner_comps = partners
        self.restricted = restricted  # the component partner look-ups must not feed
        self.prior_queries = prior_queries  # hit-free pseudo-queries: a thin day cannot make hits look common
        self.same_state = same_state
        self.blocked: dict[str, list[list[Any]]] = {}  # subject -> [[ts, ori, akey, label, state]]
        self.recent: dict[str, list[list[Any]]] = {}  # subject -> [[ts, ori, akey, skey, states, eid]]
        self.hits: dict[str, list[list[Any]]] = {}  # pair -> [[ts, subj, eid, state, b_ori, lag, skey]]
        self.volume: dict[str, dict[str, dict[str, list[int]]]] = {}  # ori -> day -> skey -> [n, h]
        self.totals: dict[str, dict[str, list[int]]] = {}  # day -> skey -> [n, h]
        self.pending: dict[str, dict[str, dict[str, list[int]]]] = {}  # open hour -> ori -> skey -> [n, h]
        self.dirty: dict[float, set[str]] = {}
        self.quiet_until: dict[str, float] = {}
        self.partners: dict[str, list[list[Any]]] = {}  # subject -> [[ts, ori, eid, state]] partner look-ups
        self._recent_pruned = float("-inf")
        self._hour_lo, self._hour_label = float("inf"), ""  # memo of _count (not state)

    # -- intake ---------------------------------------------------------------------------------
    def add_query(self, q: Query) -> None:
        assert q.subject_key is not None
        skey = _skey(q)
        states = ["*"] if q.multi_state or not q.state_destinations else list(q.state_destinations)
        row = [q.ts, q.ori, agency_key(q.agency), skey, states, q.event_id]
        self._count(q.ori, q.ts, skey, 0)
        for block in self.blocked.get(q.subject_key, []):
            self._match(q.subject_key, row, block)
        if q.agency.component == self.restricted:
            for partner in self.partners.get(q.subject_key, []):
                self._leak(q.subject_key, partner, row)
        if q.agency.component in self.partner_comps:
            self._count(q.ori, q.ts, PARTNER, 0)
            partner = [q.ts, q.ori, q.event_id, skey]
            rows = self.partners.setdefault(q.subject_key, [])
            rows.append(partner)
            self.partners[q.subject_key] = sorted(rows)[-_MAX_BLOCKS_PER_SUBJECT:]
            for later in self.recent.get(q.subject_key, []):  # restricted look-ups that overtook it
                if later[2] == f"c:{self.restricted}":
                    self._leak(q.subject_key, partner, later)
        self.recent.setdefault(q.subject_key, []).append(row)

    def _leak(self, subject: str, partner: list[Any], row: list[Any]) -> None:
        """A restricted-component look-up `row` of a subject a partner ORI looked up shortly before."""
        ts, ori, _, skey, _, eid = row
        if not partner[0] < ts <= partner[0] + self.span or partner[1] == ori:
            return
        pair = f"{partner[1]}|leak:{self.restricted}"
        hits = self.hits.setdefault(pair, [])
        if any(h[2] == eid for h in hits):
            return
        hits.append([ts, subject, eid, partner[3], ori, ts - partner[0], skey])
        self._count(partner[1], ts, PARTNER, 1)
        self.dirty.setdefault(align(ts, _HOUR), set()).add(pair)

    def add_block(self, q: Query, r: Response) -> None:
        assert q.subject_key is not None
        a = q.agency
        block = [r.ts, q.ori, agency_key(a), a.component or a.ori, r.responding_state]
        blocks = [b for b in self.blocked.get(q.subject_key, []) if (b[2], b[4]) != (block[2], block[4])]
        blocks.append(block)
        self.blocked[q.subject_key] = sorted(blocks)[-_MAX_BLOCKS_PER_SUBJECT:]
        for row in self.recent.get(q.subject_key, []):  # substitute queries that overtook the block
            self._match(q.subject_key, row, block)

    def _match(self, subject: str, row: list[Any], block: list[Any]) -> None:
        ts, ori, akey, skey, states, eid = row
        if akey == block[2] or not block[0] <= ts <= block[0] + self.span:
            return
        if self.same_state and "*" not in states and block[4] not in states:
            return
        pair = f"{ori}|{block[3]}"
        hits = self.hits.setdefault(pair, [])
        if any(h[2] == eid for h in hits):
            return
        hits.append([ts, subject, eid, block[4], block[1], ts - block[0], skey])
        if len(hits) > _MAX_HITS_PER_PAIR:  # a pair this busy has long been decided
            hits.sort(key=lambda h: (h[0], h[2]))
            del hits[0]
        self._count(ori, ts, skey, 1)
        self.dirty.setdefault(align(ts, _HOUR), set()).add(pair)

    def _count(self, ori: str, ts: float, skey: str, index: int) -> None:
        """Counted per open hour first, so a decision at B sees exactly the events before B."""
        if not self._hour_lo <= ts < self._hour_lo + _HOUR:  # the label of the open hour, built once
            self._hour_lo = align(ts, _HOUR)
            self._hour_label = str(int(self._hour_lo))
        by_ori = self.pending.get(self._hour_label)
        if by_ori is None:
            by_ori = self.pending[self._hour_label] = {}
        by_skey = by_ori.get(ori)
        if by_skey is None:
            by_skey = by_ori[ori] = {}
        row = by_skey.get(skey)
        if row is None:
            row = by_skey[skey] = [0, 0]
        row[index] += 1

    def fold(self, boundary: float) -> None:
        """Move the counts of hours before `boundary` into the per-day volumes and totals."""
        for hour in sorted(h for h in self.pending if float(h) < boundary):
            day = str(int(align(float(hour), _DAY)))
            for ori, per_state in self.pending.pop(hour).items():
                for skey, (n, h) in per_state.items():
                    for row in (
                        self.volume.setdefault(ori, {}).setdefault(day, {}).setdefault(skey, [0, 0]),
                        self.totals.setdefault(day, {}).setdefault(skey, [0, 0]),
                    ):
                        row[0] += n
                        row[1] += h

    # -- decisions ------------------------------------------------------------------------------
    def pop_dirty(self, boundary: float) -> list[str]:
        pairs: set[str] = set()
        for bucket in [b for b in self.dirty if b < boundary]:
            pairs |= self.dirty.pop(bucket)
        return sorted(pairs)

    def expected_hits(self, ori: str, start: float, end: float) -> float:
        """Hits `ori` would get by chance: its volume per day and state times everyone else's hit rate."""
        mu = 0.0
        day = align(start, _DAY)
        while day < end:
            key = str(int(day))
            for skey, (n, h) in self.volume.get(ori, {}).get(key, {}).items():
                if skey == PARTNER:
                    continue
                tn, th = self.totals.get(key, {}).get(skey, (0, 0))
                mu += n * (th - h) / (tn - n + self.prior_queries)
            day += _DAY
        return mu

    def expected_leaks(self, ori: str, start: float, end: float) -> float:
        """Leaks `ori`'s partner look-ups (since `start - span`) would show by chance, at others' rate."""
        n = ln = tn = tl = 0
        day = align(start - self.span, _DAY)
        while day < end:
            key = str(int(day))
            own = self.volume.get(ori, {}).get(key, {}).get(PARTNER, (0, 0))
            tot = self.totals.get(key, {}).get(PARTNER, (0, 0))
            n, ln, tn, tl = n + own[0], ln + own[1], tn + tot[0], tl + tot[1]
            day += _DAY
        return n * (tl - ln) / (tn - n + self.prior_queries)

    # -- bounds ---------------------------------------------------------------------------------
    def forget_recent(self, watermark: float) -> None:
        """Only queries not yet behind the watermark can still be overtaken by their block."""
        if watermark - self._recent_pruned < 60:
            return
        self._recent_pruned = watermark
        for subject in list(self.recent):
            rows = [r for r in self.recent[subject] if r[0] >= watermark]
            if rows:
                self.recent[subject] = rows
            else:
                del self.recent[subject]

    def prune(self, boundary: float, max_subjects: int) -> None:
        horizon = boundary - self.span
        for subject in list(self.blocked):
            kept = [b for b in self.blocked[subject] if b[0] >= horizon]
            if kept:
                self.blocked[subject] = kept
            else:
                del self.blocked[subject]
        if len(self.blocked) > max_subjects:
            newest = sorted(self.blocked, key=lambda s: (-self.blocked[s][-1][0], s))[:max_subjects]
            self.blocked = {s: self.blocked[s] for s in newest}
        self.hits = {p: kept for p, h in self.hits.items() if (kept := [x for x in h if x[0] >= horizon])}
        oldest_day = str(int(align(horizon, _DAY) - _DAY))
        for ori in list(self.volume):
            days = {d: v for d, v in self.volume[ori].items() if int(d) >= int(oldest_day)}
            if days:
                self.volume[ori] = days
            else:
                del self.volume[ori]
        self.totals = {d: v for d, v in self.totals.items() if int(d) >= int(oldest_day)}
        self.quiet_until = {p: t for p, t in self.quiet_until.items() if t > horizon}
        self.partners = {
            s: kept for s, v in self.partners.items() if (kept := [x for x in v if x[0] >= horizon])
        }

    def size(self) -> int:
        return len(self.blocked) + len(self.recent) + len(self.hits) + len(self.volume) + len(self.partners)

    def snapshot(self) -> dict[str, Any]:
        return {
            "blocked": self.blocked,
            "recent": self.recent,
            "hits": self.hits,
            "volume": self.volume,
            "totals": self.totals,
            "pending": self.pending,
            "dirty": [[b, sorted(p)] for b, p in sorted(self.dirty.items())],
            "quiet_until": self.quiet_until,
            "partners": self.partners,
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.blocked = {k: [list(b) for b in v] for k, v in state.get("blocked", {}).items()}
        self.recent = {k: [list(r) for r in v] for k, v in state.get("recent", {}).items()}
        self.hits = {k: [list(h) for h in v] for k, v in state.get("hits", {}).items()}
        self.volume = state.get("volume", {})
        self.totals = state.get("totals", {})
        self.pending = state.get("pending", {})
        self.dirty = {float(b): set(p) for b, p in state.get("dirty", [])}
        self.quiet_until = {k: float(v) for k, v in state.get("quiet_until", {}).items()}
        self.partners = {k: [list(x) for x in v] for k, v in state.get("partners", {}).items()}
