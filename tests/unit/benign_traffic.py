"""Deterministic benign background traffic for detector tests: many agencies over several days.

Not the simulator: a small, readable stand-in with the shapes that trip naive detectors -- federal
investigators who request photos 30-50% of the time and repeat subjects 3-4 times across days, ICE
queries blocked by restricted states, S2S look-ups whose 99999 share differs by home state, and
answered records whose no-SSN flags differ by issuing state. `Step`s follow `detector_steps`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from stream.records import Agency, Query, Response
from tests.unit.factories import T0, make_response

DAY = 86400.0
LOCAL_STATES = ("WA", "NY", "CA", "TX", "OR", "IL")
BLOCKING = ("WA", "NY", "IL")  # ICE is refused there by the switch
PHOTO_BANS = ("NY", "IL", "NJ")  # compliant immigration agencies ask those states for no photos
FLAG_RATE = {"CA": 0.06, "WA": 0.03, "NY": 0.03, "IL": 0.03, "OR": 0.02, "TX": 0.005}


def federal(ori: str, component: str, immigration: bool) -> Agency:
    return Agency(
        ori=ori, category="FE", component=component, immigration_enforcement=immigration, known=True
    )


@dataclass
class Traffic:
    seed: int = 7
    days: int = 4
    locals_per_state: int = 12
    pool: int | None = None  # subjects per state; small pools make coincidental repeats common
    agencies: dict[str, Agency] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for st in LOCAL_STATES:
            for i in range(self.locals_per_state):
                cat = ("PD", "SO", "SA")[i % 3]
                self.agencies[f"{st}{i:05d}{cat}"[:9].ljust(9, "0")] = Agency(
                    ori=f"{st}{i:05d}{cat}"[:9].ljust(9, "0"), category=cat, known=True
                )
        for comp, n, imm in (("CBP", 8, True), ("HSI", 6, True), ("ICE-ERO", 6, True), ("FBI", 6, False)):
            for i in range(n):
                ori = f"XXSYN{comp[0]}{i:03d}"
                self.agencies[ori] = federal(ori, comp, imm)
        for st in ("CA", "TX", "WA", "NY"):
            for i in range(4):
                ori = f"{st}DMV{i:04d}"
                self.agencies[ori] = Agency(ori=ori, category="NJ", known=True)

    def queries(self) -> Iterator[tuple[Query, list[Response]]]:
        rng = random.Random(self.seed)
        photo_share = {o: rng.uniform(0.3, 0.5) for o, a in self.agencies.items() if a.component}
        cases = {o: [] for o, a in self.agencies.items() if a.component}  # ori -> [subject, left]
        n = 0
        for day in range(self.days):
            for ori, a in sorted(self.agencies.items()):
                for _ in range(self._volume(a, rng)):
                    n += 1
                    ts = T0 + day * DAY + _time_of_day(rng)
                    yield self._one(rng, a, ts, n, photo_share.get(ori, 0.1), cases.get(ori))

    @staticmethod
    def _volume(a: Agency, rng: random.Random) -> int:
        if a.ori[2:5] == "DMV":
            return rng.randint(80, 120)
        return rng.randint(30, 60) if a.component else rng.randint(40, 90)

    def _one(
        self, rng: random.Random, a: Agency, ts: float, n: int, photo: float, cases: list[list] | None
    ) -> tuple[Query, list[Response]]:
        eid = f"bg-{self.seed}-{n:07d}"
        home = a.ori[:2] if a.ori[:2] in LOCAL_STATES else rng.choice(LOCAL_STATES)
        state = home if rng.random() < 0.8 else rng.choice(LOCAL_STATES)
        if a.ori[2:5] == "DMV":
            share99 = 0.25 if home == "CA" else 0.02
            q = Query(eid, ts, "s2s", "S2S", a.ori, a, (state,), "ssn_last5", f"sk_{rng.getrandbits(48):x}",
                      ssn_placeholder=rng.random() < share99, has_application=True)  # fmt: skip
            return q, []
        subject = f"sk_{state}_{rng.randrange(self.pool)}" if self.pool else f"sk_{rng.getrandbits(48):x}"
        if cases is not None and rng.random() < 0.3:  # investigators revisit open cases on later days
            cases[:] = [c for c in cases if c[1] > 0]
            ready = [c for c in cases if c[2] < ts]
            if ready:
                case = rng.choice(ready)
                subject, case[1], case[2] = case[0], case[1] - 1, ts + rng.uniform(0.3, 1.2) * DAY
                state = case[3]
            else:
                cases.append([subject, rng.randint(2, 3), ts + rng.uniform(0.3, 1.2) * DAY, state])
        kind = rng.random()
        banned = a.immigration_enforcement and state in PHOTO_BANS
        face = a.ori.startswith("XXSYNF") and kind < 0.05
        if face:
            q = Query(eid, ts, "face", "FRS", a.ori, a, (state,), "face_image", subject)
        elif kind < 0.35:
            q = Query(eid, ts, "nlets", "DQ", a.ori, a, (state,), "oln", subject,
                      image_requested=rng.random() < photo and not banned)  # fmt: skip
        else:
            q = Query(eid, ts, "nlets", "RQ", a.ori, a, (state,), "plate", subject)
        return q, [self._response(rng, q, state)]

    def _response(self, rng: random.Random, q: Query, state: str) -> Response:
        if q.agency.component == "ICE-ERO" and state in BLOCKING:
            return make_response(q, event_id=f"r-{q.event_id}", outcome="BLOCKED_BY_POLICY", record_count=0)
        if rng.random() < 0.2:
            return make_response(q, event_id=f"r-{q.event_id}", outcome="NOT_ON_FILE", record_count=0)
        flags = ("no_ssn",) if rng.random() < FLAG_RATE[state] else ()
        cand = rng.randint(0, 5) if q.source == "face" else None
        return make_response(q, event_id=f"r-{q.event_id}", record_flags=flags, face_candidates=cand,
                             photo_returned=q.image_requested)  # fmt: skip


def _time_of_day(rng: random.Random) -> float:
    """Mostly daytime, a thin night tail."""
    return (
        min(DAY - 1, max(0.0, rng.gauss(14.5, 4.0) * 3600.0)) if rng.random() < 0.95 else rng.random() * DAY
    )


def steps(
    pairs: list[tuple[Query, list[Response]]],
    lateness: float = 300.0,
    tick: float = 60.0,
    jitter: float = 0.0,
    seed: int = 0,
) -> list:
    """Steps in arrival order, responses joined to their query, watermarks like the pipeline's.

    `jitter` delays each arrival by up to that many seconds (keep it under `lateness`): the arrival
    order then differs from event-time order while no event becomes late. Late events are skipped,
    as the pipeline does for windowed detectors.
    """
    rng = random.Random(seed)
    events: list[tuple[float, str, tuple]] = []
    for q, rs in pairs:
        events.append((q.ts + rng.uniform(0, jitter), q.event_id, ("q", q)))
        events.extend((r.ts + rng.uniform(0, jitter), r.event_id, ("r", r, q)) for r in rs)
    events.sort(key=lambda e: (e[0], e[1]))
    out: list = []
    wm = max_ts = -math.inf
    for _, _, step in events:
        ts = step[1].ts
        if ts < wm:
            continue
        out.append(step)
        max_ts = max(max_ts, ts)
        aligned = math.floor((max_ts - lateness) / tick) * tick
        if aligned > wm:
            wm = aligned
            out.append(("wm", wm))
    return out


def final_watermark(pairs: list[tuple[Query, list[Response]]]) -> float:
    last = max(max([q.ts, *[r.ts for r in rs]]) for q, rs in pairs)
    return math.ceil(last / DAY) * DAY + 4 * DAY
