"""bulk_sweep: one requester looking up far more distinct people, plates or wildcard searches than it
normally does, in hopping windows at several scales (1 h, 6 h, 24 h by default).

Keys: the ORI, and ORI/operator when the operator is known (a sweep split across operators still adds
up at ORI level). Per window: distinct subjects, distinct wildcard searches (name-only, owner-name,
partial-plate) and enumeration (sibling patterns such as AB1*, AB2*, AB3* under one stem).
Baselines are robust: the median over the last days of each key's own daily maximum per window; keys
without enough history use the maximum seen so far and the peer group's high quantile; absolute floors
keep tiny agencies quiet. Windows are aligned (start = multiple of the hop) and closed by the watermark,
so findings depend on the set of events only. Memory is bounded: distinct counts are capped
(`SampledSet`), history is a few numbers per key and day, and idle keys expire.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from typing import Any

from pydantic import Field, model_validator

from stream.detectors import register
from stream.detectors._robust import DAY, SampledSet, stable_hash
from stream.detectors._sweep_state import Bucket, Decision, PeerStats, decide
from stream.detectors.base import Detector, DetectorContext, Params
from stream.findings import Finding
from stream.records import Query

WILDCARD_MODES = frozenset({"name_only", "owner_name", "partial_plate"})
WILDCARD_KEYS = frozenset({"DNQ", "RNQ", "RPQ"})
# S2S pointer look-ups (s2s_misuse), face searches and photo pulls (photo_face_match) have detectors
# of their own; counting them here would report one harvest twice under two names
OTHER_DOMAINS = frozenset({"s2s", "face"})
OTHER_KEYS = frozenset({"S2S", "FRS", "CPQ"})


def counted(q: Query) -> bool:
    """A logical, text-based DMV look-up (the kind a sweep is made of)."""
    return (
        q.first_of_logical
        and q.source not in OTHER_DOMAINS
        and q.message_key not in OTHER_KEYS
        and not q.image_requested
    )


class BulkSweepParams(Params):
    scales_s: list[int] = Field([3600, 21600, 86400], min_length=1, description="Window sizes; hop = half.")
    floor_distinct: list[int] = Field([30, 80, 160], description="Min distinct subjects per scale.")
    floor_wildcard: list[int] = Field([12, 25, 50], description="Min distinct wildcard searches per scale.")
    k_own: float = Field(3.0, gt=1, description="Times the key's median daily max per window.")
    k_warm: float = Field(4.0, gt=1, description="Times the max seen so far, while history is short.")
    k_peer: float = Field(1.0, gt=0, description="Times the peer group's high quantile, for new keys.")
    peer_quantile: float = Field(0.99, gt=0.5, lt=1)
    peer_min_windows: int = Field(200, ge=1, description="Peer windows needed before the peer bound.")
    new_floor_mult: float = Field(1.5, ge=1, description="Floors are raised by this for keys w/o history.")
    nj_floor_mult: float = Field(0.5, gt=0, le=1, description="Floors for non-criminal-justice (NJ).")
    history_days: int = Field(14, ge=3, le=60)
    min_history_days: int = Field(3, ge=1)
    global_warmup_s: float = Field(86400.0, ge=0, description="No history-less firing this long.")
    enum_min_siblings: int = Field(6, ge=3, description="Sibling patterns under one stem to fire.")
    max_distinct_per_key: int = Field(2048, ge=64, description="Exact distinct count up to this.")
    max_patterns_per_key: int = Field(512, ge=16)

    @model_validator(mode="after")
    def _nested_scales(self) -> BulkSweepParams:
        # Base buckets are dropped when the longest scale's window closes: every other window holding
        # them must end by then, which holds when each scale is at most half the longest and divides it.
        longest = max(self.scales_s)
        for width in self.scales_s:
            if width % 2 or (width != longest and (longest % width or width * 2 > longest)):
                raise ValueError(f"scales_s: {width} must be even, divide {longest}, be at most its half")
        return self


@register
class BulkSweep(Detector):
    kind = "bulk_sweep"
    params_model = BulkSweepParams

    def __init__(self, params: Params, ctx: DetectorContext) -> None:
        super().__init__(params, ctx)
        self.p: BulkSweepParams = params  # type: ignore[assignment]
        self._hops = [width / 2 for width in self.p.scales_s]
        # Events land in base buckets of the smallest common hop; a window of any scale is the union of
        # its base buckets, built when it closes (one set insert per event and key instead of one per
        # scale: bulk_sweep was the costliest detector in CPU and memory, see docs/hotpath.md)
        self._base = float(math.gcd(*(int(h) for h in self._hops)))
        self._longest = max(range(len(self._hops)), key=lambda i: self._hops[i])
        self._reset()

    def _reset(self) -> None:
        self.first_ts: float | None = None
        # key -> {base bucket start: Bucket}; key is "ORI" or "ORI/operator"
        self.open: dict[str, dict[float, Bucket]] = {}
        # One entry per (scale, key): its next window to close, (end, scale, kind order, key, start).
        # `next_start` says which entry is current; an entry superseded by an earlier window (an
        # out-of-order event opened it) stays in the heap and is skipped when popped.
        self.due: list[tuple[float, int, int, str, float]] = []
        self.next_start: dict[tuple[int, str], float] = {}
        self.history: dict[tuple[int, str], dict[int, list[int]]] = {}  # day -> [max distinct, max wild]
        self.peers = PeerStats(self.p.history_days)
        self.fired_until: dict[str, float] = {}
        self.last_day = -1
        self.wm = float("-inf")

    # -- events -------------------------------------------------------------------------------
    def on_query(self, q: Query) -> Iterable[Finding]:
        if not counted(q) or q.ts < self.wm:
            return ()  # children of a counted query, other domains; late events (the pipeline filters them)
        ts = q.ts
        if self.first_ts is None or ts < self.first_ts:
            self.first_ts = ts
        wild = q.search_mode in WILDCARD_MODES or q.message_key in WILDCARD_KEYS
        item = q.subject_key or (f"p:{q.pattern}" if q.pattern else None)
        h = stable_hash(item) if item else None
        pattern, agency, ori = q.pattern if wild else None, q.agency, q.ori
        start = float(int(ts // self._base) * self._base)
        opened = self.open
        for key in (ori,) if not q.operator_id else (ori, f"{ori}/{q.operator_id}"):
            buckets = opened.get(key)
            bucket = buckets.get(start) if buckets is not None else None
            if bucket is None:
                bucket = self._bucket(key, start)
            bucket.add(h, wild, pattern, agency)
        return ()

    def _bucket(self, key: str, start: float) -> Bucket:
        """A new base bucket (the smallest hop): queue each window of each scale it belongs to."""
        buckets = self.open.get(key)
        if buckets is None:
            buckets = self.open[key] = {}
        for si in range(len(self._hops)):
            first = self._open_window(si, start, self._closed_until(si))  # not None: the event is not late
            pending = self.next_start.get((si, key))
            if first is not None and (pending is None or first < pending):
                self._queue(si, key, first)
        bucket = buckets[start] = Bucket(self.p.max_distinct_per_key, self.p.max_patterns_per_key)
        return bucket

    def _queue(self, si: int, key: str, start: float) -> None:
        self.next_start[(si, key)] = start
        heapq.heappush(self.due, (start + 2 * self._hops[si], si, 1 if "/" not in key else 0, key, start))

    def _closed_until(self, si: int) -> float:
        """Windows of scale si starting at or before this were closed by the watermark."""
        return self.wm - 2 * self._hops[si]

    def _open_window(self, si: int, t: float, after: float) -> float | None:
        """Start of the first window of scale si that holds base bucket `t` and starts after `after`
        (of the two holding it, the earlier if it can), or None."""
        hop = self._hops[si]
        first = float(int(t // hop) * hop) - hop
        for w in (first, first + hop):
            if w > after:
                return w
        return None

    def _queue_first(self, si: int, key: str, after: float) -> None:
        """Queue the first window of scale si after `after` that holds one of the key's base buckets."""
        starts = [w for t in self.open.get(key, ()) if (w := self._open_window(si, t, after)) is not None]
        if starts:
            self._queue(si, key, min(starts))
        else:
            self.next_start.pop((si, key), None)

    # -- windows ------------------------------------------------------------------------------
    def on_watermark(self, watermark: float) -> Iterable[Finding]:
        out: list[Finding] = []
        self.wm = max(self.wm, watermark)
        while self.due and self.due[0][0] <= watermark:
            end, si, _, key, start = heapq.heappop(self.due)
            if self.next_start.get((si, key)) != start:
                continue  # superseded by an earlier window, or already closed
            finding = self._close(si, key, start, end)
            if finding is not None:
                out.append(finding)
        day = int(watermark // DAY)
        if day != self.last_day:
            self.last_day = day
            self._expire(day)
        return out

    def _close(self, si: int, key: str, start: float, end: float) -> Finding | None:
        buckets = self.open.get(key, {})
        starts = range(int(start), int(end), int(self._base))
        window = Bucket.union([b for t in starts if (b := buckets.get(float(t))) is not None])
        if si == self._longest:
            # no window still to close can contain a base bucket before the next window of the longest
            # scale (every other scale's window ends no later: see BulkSweepParams' check)
            for t in [t for t in buckets if t < start + self._hops[si]]:
                del buckets[t]
            if not buckets:
                self.open.pop(key, None)
        self._queue_first(si, key, start)  # the next window of this scale that holds a bucket
        if window is None or self.first_ts is None or start < self.first_ts:
            return None  # empty, or partial (the monitor started inside it): neither fire nor learn
        day = int(start // DAY)
        hist = self.history.setdefault((si, key), {})
        decision = decide(self.p, si, window, hist, day, self.peers, key, self._warm(start))
        self._learn(si, key, hist, day, window)
        if decision is None:
            return None
        # one finding per episode: a window overlapping an already reported one (other scale, next
        # hop, or an operator of this ORI) extends that episode instead of raising a new alert
        ongoing = self.fired_until.get(key, -1.0) > start
        for k in (key, key.split("/", 1)[0]):
            self.fired_until[k] = max(end, self.fired_until.get(k, -1.0))
        return None if ongoing else self._finding(si, key, start, end, window, decision)

    def _warm(self, start: float) -> bool:
        return self.first_ts is not None and start < self.first_ts + self.p.global_warmup_s

    def _learn(self, si: int, key: str, hist: dict[int, list[int]], day: int, window: Bucket) -> None:
        d, w = window.distinct(), window.wild_distinct()
        row = hist.setdefault(day, [0, 0])
        row[0], row[1] = max(row[0], d), max(row[1], w)
        for old in [x for x in hist if x <= day - self.p.history_days]:
            del hist[old]
        self.peers.add(si, window.peer, "u" if "/" in key else "o", day, d)

    def _expire(self, day: int) -> None:
        horizon = day - self.p.history_days
        for k in [k for k, h in self.history.items() if not h or max(h) <= horizon]:
            del self.history[k]
        self.fired_until = {k: v for k, v in self.fired_until.items() if v > (day - 2) * DAY}
        self.peers.expire(day)

    def _finding(self, si: int, key: str, start: float, end: float, window: Bucket, d: Decision) -> Finding:
        ori, _, operator = key.partition("/")
        width = self.p.scales_s[si]
        scope = "operator" if operator else "ORI"
        return Finding(
            detector=self.kind,
            severity=d.severity,
            ori=ori,
            operator_id=operator or None,
            group_key=f"{key}|{width}",
            window_start=start,
            window_end=end,
            title=f"Bulk sweep by {ori} ({scope}): {', '.join(d.rules)} over {width // 3600} h",
            summary=d.summary,
            evidence={"scale_s": width, "scope": scope, **d.evidence},
        )

    # -- checkpoint ---------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {
            "first_ts": self.first_ts,
            "last_day": self.last_day,
            "wm": None if self.wm == float("-inf") else self.wm,
            "base": [self._base, [[k, [[t, b.dump()] for t, b in v.items()]] for k, v in self.open.items()]],
            "history": [[si, key, [[d, *v] for d, v in h.items()]] for (si, key), h in self.history.items()],
            "peers": self.peers.dump(),
            "fired_until": dict(self.fired_until),
        }

    def restore(self, state: dict[str, Any]) -> None:
        self._reset()
        self.first_ts = state.get("first_ts")
        self.last_day = int(state.get("last_day", -1))
        self.wm = float("-inf") if state.get("wm") is None else float(state["wm"])
        cap, pcap = self.p.max_distinct_per_key, self.p.max_patterns_per_key
        base, rows = state.get("base", [self._base, []])
        if float(base) == self._base:
            # (checkpoints from before base buckets, or with other scales, restart their open windows:
            # fewer counts for at most one longest window, never an extra finding)
            for key, buckets in rows:
                self.open[key] = {float(s): Bucket.load(cap, pcap, raw) for s, raw in buckets}
        self._due_from_open()
        for si, key, hist_rows in state.get("history", []):
            self.history[(si, key)] = {int(r[0]): [int(r[1]), int(r[2])] for r in hist_rows}
        self.peers = PeerStats.load(self.p.history_days, state.get("peers", []))
        self.fired_until = {k: float(v) for k, v in state.get("fired_until", {}).items()}

    def _due_from_open(self) -> None:
        """The windows still due are those holding an open base bucket that the watermark has not
        closed: nothing else needs checkpointing."""
        for key in self.open:
            for si in range(len(self._hops)):
                self._queue_first(si, key, self._closed_until(si))

    def state_size(self) -> int:
        return len(self.open) + len(self.history)


__all__ = ["BulkSweep", "BulkSweepParams", "SampledSet"]
