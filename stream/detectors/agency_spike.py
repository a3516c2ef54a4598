"""agency_spike: an ORI, or a federal component across all its ORIs, querying far above its own level.

Two rules, both on logical-query counts and both against the key's own robust baseline:
- burst: the last N hours, for each (N, ratio) of `burst_windows` (aligned, re-evaluated every hour),
  against the expected count for those local hours = the key's daily level (trimmed mean of recent
  daily totals, weekday and weekend apart) x its peer group's learned share of a day's volume in
  each local hour. Fires above
  max(floor, ratio, k_burst x the key's own usual daily-max ratio) x expected, and at least `z_min`
  Poisson standard deviations above it, so naturally bursty agencies get a higher bar.
- ramp: at each day close, the median of the last R days against the median of the B days before,
  for several (R, B) horizons: a step in days, a climb over weeks, a slow month-over-month rise.
Floors (minimum counts and minimum excess per day) keep small agencies quiet; nothing fires before a
key has `min_history_days` of its own history. Hours and days are aligned and closed by the watermark.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import Field

from stream.detectors import register
from stream.detectors._robust import DAY, HOUR, median, utc_offset
from stream.detectors._spike_eval import burst_finding, ramp_finding
from stream.detectors._spike_state import DailyRing, Profile
from stream.detectors.base import Detector, DetectorContext, Params
from stream.findings import Finding
from stream.records import IMMIGRATION_COMPONENTS, Query


class AgencySpikeParams(Params):
    burst_windows: list[tuple[int, float]] = Field(
        [(3, 2.0), (12, 1.6)], min_length=1, description="(hours, min observed/expected ratio) per window."
    )
    z_min: float = Field(6.0, ge=0, description="Min Poisson z-score of a burst over its expected count.")
    k_burst: float = Field(1.5, gt=1, description="Times the key's own median daily-max ratio.")
    burst_floor: int = Field(25, ge=1, description="Minimum queries in the burst window.")
    burst_min_excess: int = Field(15, ge=0, description="Minimum queries above expected.")
    level_uncertainty: float = Field(
        0.25, ge=0, description="Ratio bar x (1 + this/sqrt(days of history)): a young level is less sure."
    )
    pop_quantile: float = Field(0.999, gt=0.5, lt=1, description="Quantile of all keys' burst ratios.")
    pop_margin: float = Field(1.1, ge=1, description="Times that quantile is also a minimum ratio.")
    pop_min_samples: int = Field(1000, ge=1, description="Windows needed before bursts are judged.")
    pop_min_expected: float = Field(10.0, ge=0, description="Only windows expecting this many count.")
    weekend_prior: dict[str, float] = Field(
        {
            "ICE-ERO": 0.4,
            "HSI": 0.4,
            "FBI": 0.4,
            "DEA": 0.4,
            "USMS": 0.4,
            "other_federal": 0.6,
            "default": 0.9,
        },
        description="Weekend level / weekday level by peer group until two weekend days are seen.",
    )
    baseline_days: int = Field(28, ge=7, description="Days behind the daily level of the burst rule.")
    min_history_days: int = Field(1, ge=1, description="Own full days needed before any finding.")
    ramp_horizons: list[tuple[int, int, float]] = Field(
        [(3, 14, 2.5), (7, 28, 2.0), (28, 56, 1.6)],
        description="(recent days, baseline days, min ratio of medians) for the ramp rule.",
    )
    ramp_min_excess: float = Field(20.0, ge=0, description="Min rise of the daily median, queries/day.")
    ramp_min_base: float = Field(5.0, ge=0, description="Baseline median is taken as at least this.")
    ramp_coverage: float = Field(0.75, gt=0, le=1, description="Share of baseline days that must exist.")
    ramp_cooldown_days: int = Field(28, ge=1, description="One ramp finding per key per this many days.")
    history_days: int = Field(120, ge=30, le=400, description="Daily totals kept per key.")
    profile_half_life_days: float = Field(14.0, gt=0)
    components: bool = Field(True, description="Also watch each federal component across its ORIs.")
    small_level: float = Field(50.0, ge=0, description="Daily level (queries/day) of a small agency.")
    small_max_ratio: float = Field(
        8.0, gt=1, description="Bursts above this ratio on a small agency are left to bulk_sweep."
    )
    concentration_top: int = Field(
        4, ge=0, description="A burst carried by this many operators (or one ORI of a component) is a sweep."
    )


@register
class AgencySpike(Detector):
    kind = "agency_spike"
    params_model = AgencySpikeParams

    def __init__(self, params: Params, ctx: DetectorContext) -> None:
        super().__init__(params, ctx)
        self.p: AgencySpikeParams = params  # type: ignore[assignment]
        self._reset()

    def _reset(self) -> None:
        self.meta: dict[str, list[Any]] = {}  # key -> [profile name, tz, immigration]
        self.hours: dict[str, dict[float, int]] = {}
        self.days: dict[str, dict[int, int]] = {}
        self.top: dict[str, dict[float, dict[str, int]]] = {}  # component key -> hour -> ORI -> n
        self.ops: dict[str, dict[float, dict[str, int]]] = {}  # ORI -> hour -> operator -> n
        self.rings: dict[str, DailyRing] = {}
        self.ratios: dict[str, dict[int, float]] = {}
        self.top_share: dict[str, float] = {}  # key|hours -> usual share of the top contributors
        self.pop: dict[str, dict[int, dict[int, int]]] = {}  # window hours -> day -> ratio bin -> n
        self.profiles: dict[str, Profile] = {}
        self.fired_until: dict[str, float] = {}
        self.ramp_last: dict[str, int] = {}
        self.cursor: float | None = None  # start of the next hour to close
        self.start_ts: float | None = None  # first event seen: the day it falls in was only partly seen

    # -- events -------------------------------------------------------------------------------
    def on_query(self, q: Query) -> Iterable[Finding]:
        if not q.first_of_logical or q.source == "s2s" or (self.cursor is not None and q.ts < self.cursor):
            return ()  # S2S pointer volume of DMVs is s2s_misuse's; late events never reopen hours
        hour, day = float(int(q.ts // HOUR) * HOUR), int(q.ts // DAY)
        if self.cursor is None:
            self.cursor = hour
        self.start_ts = q.ts if self.start_ts is None else min(self.start_ts, q.ts)
        immigration = q.agency.immigration_enforcement or q.agency.component in IMMIGRATION_COMPONENTS
        self._count(q.ori, [q.agency.peer_group, q.origin_tz, immigration], hour, day)
        if q.operator_id:
            per_op = self.ops.setdefault(q.ori, {}).setdefault(hour, {})
            per_op[q.operator_id] = per_op.get(q.operator_id, 0) + 1
        if self.p.components and q.agency.component:
            key = f"component:{q.agency.component}"
            self._count(key, [key, None, q.agency.component in IMMIGRATION_COMPONENTS], hour, day)
            per_ori = self.top.setdefault(key, {}).setdefault(hour, {})
            per_ori[q.ori] = per_ori.get(q.ori, 0) + 1
        return ()

    def _count(self, key: str, meta: list[Any], hour: float, day: int) -> None:
        self.meta[key] = meta
        hours = self.hours.setdefault(key, {})
        hours[hour] = hours.get(hour, 0) + 1
        days = self.days.setdefault(key, {})
        days[day] = days.get(day, 0) + 1

    # -- closing hours and days ---------------------------------------------------------------
    def on_watermark(self, watermark: float) -> Iterable[Finding]:
        out: list[Finding] = []
        while self.cursor is not None and self.cursor + HOUR <= watermark:
            out.extend(self._close_hour(self.cursor))
            self.cursor += HOUR
            if self.cursor % DAY == 0:
                out.extend(self._close_day(int(self.cursor // DAY) - 1))
        return out

    def _close_hour(self, h: float) -> list[Finding]:
        out: list[Finding] = []
        longest = max(n for n, _ in self.p.burst_windows)
        first = h - (longest - 1) * HOUR
        for key in sorted(self.hours):
            hours = self.hours[key]
            for n_hours, ratio in self.p.burst_windows:
                start = h - (n_hours - 1) * HOUR
                obs = sum(n for t, n in hours.items() if start <= t <= h)
                if obs * 2 >= self.p.burst_floor:  # cheaper than evaluating every quiet key every hour
                    f = burst_finding(self, key, start, h, obs, n_hours, ratio)
                    if f is not None:
                        out.append(f)
            self._learn_hour(key, h, hours.get(h, 0))
            for t in [t for t in hours if t <= first]:
                del hours[t]
            for t in [t for t in self.top.get(key, {}) if t <= first - 6 * DAY]:
                del self.top[key][t]
            for t in [t for t in self.ops.get(key, {}) if t <= first]:
                del self.ops[key][t]
            if key in self.ops and not self.ops[key]:
                del self.ops[key]
            if not hours:
                del self.hours[key]
        return out

    def _learn_hour(self, key: str, h: float, n: int) -> None:
        if n == 0:
            return
        name, tz, _ = self.meta[key]
        offset = utc_offset(h, tz)
        local = h + offset
        weekend = int((local // DAY + 3) % 7) >= 5  # day 0 (1970-01-01) was a Thursday
        self.profiles.setdefault(name, Profile()).add(weekend, int(local % DAY // HOUR), n)

    def _close_day(self, day: int) -> list[Finding]:
        out: list[Finding] = []
        for key in sorted(set(self.rings) | set(self.days)):
            count = self.days.get(key, {}).pop(day, 0)
            ring = self.rings.get(key)
            if ring is None:
                partial = self.start_ts is not None and day * DAY < self.start_ts - HOUR
                ring = self.rings[key] = DailyRing(self.p.history_days, day + 1 if partial else day)
            ring.close_day(day, count)
            if not self.days.get(key):
                self.days.pop(key, None)
            f = ramp_finding(self, key, day)
            if f is not None:
                out.append(f)
            if sum(ring.days(day - self.p.baseline_days - 7, day + 1)) == 0:
                self._forget(key)  # idle for over a month: bounded state for keys that come and go
        factor = 0.5 ** (1 / self.p.profile_half_life_days)
        for prof in self.profiles.values():
            prof.decay(factor)
        for days in self.pop.values():
            for d in [d for d in days if d <= day - 7]:
                del days[d]
        for ratios in self.ratios.values():
            for d in [d for d in ratios if d <= day - self.p.baseline_days]:
                del ratios[d]
        return out

    def _forget(self, key: str) -> None:
        for table in (self.rings, self.fired_until, self.ramp_last, self.top):
            table.pop(key, None)
        for n_hours, _ in self.p.burst_windows:
            self.ratios.pop(f"{key}|{n_hours}", None)
            self.top_share.pop(f"{key}|{n_hours}", None)
        if key not in self.hours and key not in self.days:
            self.meta.pop(key, None)

    def own_ratio(self, key: str, day: int) -> float | None:
        prior = [r for d, r in self.ratios.get(key, {}).items() if d < day]
        return median(prior) if len(prior) >= max(2, self.p.min_history_days) else None

    # -- checkpoint ---------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {
            "cursor": self.cursor,
            "start_ts": self.start_ts,
            "meta": self.meta,
            "hours": {k: [[t, n] for t, n in v.items()] for k, v in self.hours.items()},
            "days": {k: [[d, n] for d, n in v.items()] for k, v in self.days.items()},
            "top": {k: [[t, sorted(m.items())] for t, m in v.items()] for k, v in self.top.items()},
            "ops": {k: [[t, sorted(m.items())] for t, m in v.items()] for k, v in self.ops.items()},
            "rings": {k: r.dump() for k, r in self.rings.items()},
            "ratios": {k: [[d, r] for d, r in v.items()] for k, v in self.ratios.items()},
            "profiles": {k: p.dump() for k, p in self.profiles.items()},
            "pop": {k: [[d, sorted(h.items())] for d, h in v.items()] for k, v in self.pop.items()},
            "fired_until": self.fired_until,
            "top_share": self.top_share,
            "ramp_last": self.ramp_last,
        }

    def restore(self, state: dict[str, Any]) -> None:
        self._reset()
        self.cursor = state.get("cursor")
        self.start_ts = state.get("start_ts")
        self.meta = {k: list(v) for k, v in state.get("meta", {}).items()}
        self.hours = {k: {float(t): int(n) for t, n in v} for k, v in state.get("hours", {}).items()}
        self.days = {k: {int(d): int(n) for d, n in v} for k, v in state.get("days", {}).items()}
        self.top = {k: {float(t): dict(m) for t, m in v} for k, v in state.get("top", {}).items()}
        self.ops = {k: {float(t): dict(m) for t, m in v} for k, v in state.get("ops", {}).items()}
        n = self.p.history_days
        self.rings = {k: DailyRing.load(n, r) for k, r in state.get("rings", {}).items()}
        self.ratios = {k: {int(d): float(r) for d, r in v} for k, v in state.get("ratios", {}).items()}
        self.profiles = {k: Profile([list(r) for r in p]) for k, p in state.get("profiles", {}).items()}
        self.fired_until = {k: float(v) for k, v in state.get("fired_until", {}).items()}
        self.pop = {
            k: {int(d): {int(b): int(c) for b, c in h} for d, h in v} for k, v in state.get("pop", {}).items()
        }
        self.ramp_last = {k: int(v) for k, v in state.get("ramp_last", {}).items()}
        self.top_share = {k: float(v) for k, v in state.get("top_share", {}).items()}

    def state_size(self) -> int:
        return len(self.meta)
