"""agency_spike: an ORI, or a federal component across all its ORIs, querying far above its own level.

Two rules, both on logical-query counts and both against the key's own history:
- burst: the last N hours, for each (N, ratio) of `burst_windows` (3/12/24/48 h: the long ones see a
  rise over days), aligned and re-evaluated at every hour the key queries, against the expected count =
  the key's daily level (trimmed mean of its days before the window, weekday and weekend apart; a
  peer-group weekend prior until two weekend days are seen) x its peer group's share of a day in each
  local hour. Fires when the count is (a) at least max(ratio, k_burst x the key's usual daily-max
  ratio, pop_margin x a population quantile of observed/expected) times the expectation, and (b)
  significant: its negative-binomial tail (Poisson noise, the uncertainty of a level learned from few
  queries or few days, of the hourly profile, and an over-dispersion allowance) is below alpha =
  `false_per_day` shared out over every key and window tested each hour (Bonferroni). No fixed volume
  floor: a small agency's burst passes when it is certain, a tiny agency's handful does not.
  A burst whose excess is carried by a few operators, one ORI of a component, one destination or one
  query kind (beyond their usual shares) is a sweep or a harvest, left to bulk_sweep/photo_face_match.
- ramp: at each day close, the median of the last R days against the median of the B days before,
  for several (R, B) horizons: a step in days, a climb over weeks, a slow month-over-month rise.
Nothing fires before a key has `min_history_days` of its own history. Hours and days are aligned and
closed by the watermark; late events never reopen a closed hour.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from pydantic import Field, model_validator

from stream.detectors import register
from stream.detectors._robust import DAY, HOUR, is_weekend, median, utc_offset
from stream.detectors._spike_eval import burst_finding, ramp_finding
from stream.detectors._spike_state import DailyRing, Profile, dump_state, load_state
from stream.detectors._spike_stats import alpha_per_test
from stream.detectors.base import Detector, DetectorContext, Params
from stream.findings import Finding
from stream.records import IMMIGRATION_COMPONENTS, Query


class AgencySpikeParams(Params):
    burst_windows: list[tuple[int, float]] = Field(
        [(3, 2.0), (12, 1.6), (24, 1.5), (48, 1.4)],
        min_length=1,
        description="(hours, min observed/expected ratio) per window; 24-48 h windows see ramps over days.",
    )
    false_per_day: float = Field(
        0.02, gt=0, description="False bursts per day allowed over all keys and windows (sets alpha)."
    )
    dispersion_day: float = Field(
        0.005, ge=0, description="Squared CV of a key's daily rate beyond Poisson (measured: <= 0.0023)."
    )
    dispersion_hour: float = Field(0.05, ge=0, description="Squared CV of an hour's rate beyond Poisson.")
    min_count: int = Field(6, ge=1, description="Fewer queries than this in a window are never a burst.")
    k_burst: float = Field(1.5, gt=1, description="Times the key's own median daily-max ratio.")
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
    ramp_horizons: list[tuple[int, int, float] | tuple[int, int, float, int, float]] = Field(
        [(3, 14, 2.5), (7, 28, 2.0), (28, 56, 1.6), (28, 28, 1.6, 56, 8.0)],
        description="(recent days, baseline days, min ratio of medians[, gap days, min rise/day]) for the "
        "ramp rule; with a gap, the baseline ends that many days before the recent window (a slow climb).",
    )
    ramp_min_excess: float = Field(20.0, ge=0, description="Min rise of the daily median, queries/day.")
    ramp_min_base: float = Field(5.0, ge=0, description="Baseline median is taken as at least this.")
    ramp_coverage: float = Field(0.75, gt=0, le=1, description="Share of baseline days that must exist.")
    ramp_cooldown_days: int = Field(28, ge=1, description="One ramp finding per key per this many days.")
    history_days: int = Field(
        120, ge=30, le=400, description="Daily totals kept per key (at least the longest ramp horizon)."
    )
    profile_half_life_days: float = Field(14.0, gt=0)
    components: bool = Field(True, description="Also watch each federal component across its ORIs.")
    small_level: float = Field(50.0, ge=0, description="Daily level (queries/day) of a small agency.")
    small_max_ratio: float = Field(
        8.0, gt=1, description="Bursts above this ratio on a small agency are left to bulk_sweep."
    )
    concentration_top: int = Field(
        4, ge=0, description="A burst carried by this many operators (or one ORI of a component) is a sweep."
    )

    @model_validator(mode="after")
    def _horizons_fit_history(self) -> AgencySpikeParams:
        for h in self.ramp_horizons:
            span = h[0] + h[1] + (h[3] if len(h) > 3 else 0)
            if span > self.history_days:
                raise ValueError(f"ramp horizon {list(h)} spans {span} days, more than history_days")
        return self


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
        self.mix: dict[str, dict[float, dict[str, int]]] = {}  # ORI -> hour -> "d:<dest>"/"k:<key>" -> n
        self.rings: dict[str, DailyRing] = {}
        self.ratios: dict[str, dict[int, float]] = {}
        self.top_share: dict[str, float] = {}  # key|hours -> usual share of the top contributors
        self.kinds_usual: dict[str, dict[str, float]] = {}  # ORI -> query kind -> decayed daily count
        self.kinds_days: dict[str, dict[str, dict[str, int]]] = {}  # ORI -> day -> kind -> n (held)
        self.mix_share: dict[str, float] = {}  # key|hours|d or k -> usual share of the top destination/kind
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
        mix = self.mix.setdefault(q.ori, {}).setdefault(hour, {})
        kind = f"k:{q.message_key}{'+img' if q.image_requested else ''}"
        mix[kind] = mix.get(kind, 0) + 1
        if q.destinations:
            dest = f"d:{q.destinations[0]}"
            mix[dest] = mix.get(dest, 0) + 1
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
        windows = self.p.burst_windows
        longest = max(n for n, _ in windows)
        first = h - (longest - 1) * HOUR
        ctx = {
            "alpha": alpha_per_test(self.p.false_per_day, len(self.rings), len(windows)),
            "keys": len(self.rings),
            "memo": {},
        }
        for key in sorted(self.hours):
            hours = self.hours[key]
            n_now = hours.get(h, 0)
            if n_now:  # a burst is judged at the hours its key queries (quiet keys cost nothing)
                counts = [0] * len(windows)
                for t, n in hours.items():
                    age = int((h - t) // HOUR)
                    for i, (n_hours, _) in enumerate(windows):
                        if 0 <= age < n_hours:
                            counts[i] += n
                for (n_hours, ratio), obs in zip(windows, counts, strict=True):
                    if obs >= self.p.min_count:
                        f = burst_finding(self, key, h - (n_hours - 1) * HOUR, h, obs, n_hours, ratio, ctx)
                        if f is not None:
                            out.append(f)
                self._learn_hour(key, h, n_now)
            if n_now or h % DAY == DAY - HOUR:  # idle keys are pruned once a day
                self._prune(key, first)
        return out

    def _prune(self, key: str, first: float) -> None:
        hours = self.hours[key]
        for t in [t for t in hours if t <= first]:
            del hours[t]
        for t in [t for t in self.top.get(key, {}) if t <= first - 6 * DAY]:
            del self.top[key][t]
        for table in (self.ops, self.mix):
            for t in [t for t in table.get(key, {}) if t <= first]:
                del table[key][t]
            if key in table and not table[key]:
                del table[key]
        if not hours:
            del self.hours[key]

    def _learn_hour(self, key: str, h: float, n: int) -> None:
        if n == 0:
            return
        ring = self.rings.get(key)
        if ring is not None:  # a burst must not teach the profile that its hour is busy (small groups)
            recent = ring.days(int(h // DAY) - 7, int(h // DAY))
            if recent:
                n = min(n, math.ceil(4 * max(recent) / 24 + 3))
        name, tz, _ = self.meta[key]
        offset = utc_offset(h, tz)
        local = h + offset
        weekend = is_weekend(int(local // DAY))
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
            self._learn_kinds(key, day)
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

    def _learn_kinds(self, key: str, day: int) -> None:
        """The ORI's usual mix of query kinds, to tell a harvest of one kind from more work. A day is
        held apart for two days before it is folded into the decayed counts, so a window (48 h at
        most) is never compared with a mix that already contains it."""
        today: dict[str, int] = {}
        for t, per in self.mix.get(key, {}).items():
            if int(t // DAY) == day:
                for label, n in per.items():
                    if label[0] == "k":
                        today[label] = today.get(label, 0) + n
        held = self.kinds_days.setdefault(key, {})
        if today:
            held[str(day)] = today
        usual = self.kinds_usual.setdefault(key, {})
        for d in [d for d in held if int(d) <= day - 2]:
            for label, n in held.pop(d).items():
                usual[label] = usual.get(label, 0.0) + n
        for label in list(usual):
            usual[label] *= 0.8
            if usual[label] < 0.01:
                del usual[label]
        if not held:
            del self.kinds_days[key]
        if not usual:
            del self.kinds_usual[key]

    def usual_kinds(self, key: str, before_day: int) -> dict[str, float]:
        """Kind counts of the ORI's days before `before_day` (decayed ones plus the held ones)."""
        out = dict(self.kinds_usual.get(key, {}))
        for d, counts in self.kinds_days.get(key, {}).items():
            if int(d) < before_day:
                for label, n in counts.items():
                    out[label] = out.get(label, 0.0) + n
        return out

    def _forget(self, key: str) -> None:
        for table in (
            self.rings,
            self.fired_until,
            self.ramp_last,
            self.top,
            self.kinds_usual,
            self.kinds_days,
        ):
            table.pop(key, None)
        for n_hours, _ in self.p.burst_windows:
            self.ratios.pop(f"{key}|{n_hours}", None)
            self.top_share.pop(f"{key}|{n_hours}", None)
            for dim in "dk":
                self.mix_share.pop(f"{key}|{n_hours}|{dim}", None)
        if key not in self.hours and key not in self.days:
            self.meta.pop(key, None)

    def own_ratio(self, key: str, day: int) -> float | None:
        prior = [r for d, r in self.ratios.get(key, {}).items() if d < day]
        return median(prior) if len(prior) >= max(2, self.p.min_history_days) else None

    # -- checkpoint ---------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return dump_state(self)

    def restore(self, state: dict[str, Any]) -> None:
        load_state(self, state)

    def state_size(self) -> int:
        return len(self.meta)
