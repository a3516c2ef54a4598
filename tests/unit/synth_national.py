"""Synthetic national background and injected patterns for evaluating the behavioural detectors
(bulk_sweep, agency_spike, new_requester, feed_silence) offline.

Not the simulator: an independent stand-in built from the domain brief (7.4) so the detectors are not
tuned to one generator. Heavy-tailed agency sizes (log-normal daily volume, median ~12/day, mean
~44/day), local-time diurnal shares, weekends (0.9x local, 0.4x federal), over-dispersion (a gamma
factor per agency-day and per agency-hour), operators (known for 70% of agencies), investigators
repeating subjects, the message-key mix with rare DNQ/RNQ/RPQ, multi-state children.

`python -m tests.unit.synth_national --agencies 3000 --days 10` prints findings per detector on benign
traffic and which injected patterns were found.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from stream.records import Agency, Query
from tests.unit.factories import T0

DAY, HOUR = 86400.0, 3600.0
ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix")
LOCAL_SHARE = [0.6] * 5 + [2.5] * 2 + [5.0] * 3 + [5.5] * 4 + [5.75] * 4 + [5.5] * 4 + [5.0] * 2
FED_SHARE = [0.3] * 5 + [4.0] * 2 + [8.0] * 3 + [10.0] * 4 + [9.0] * 4 + [2.5] * 4 + [0.8] * 2
CATS = (("PD", 0.45), ("SO", 0.2), ("SA", 0.1), ("FE", 0.08), ("JA", 0.04), ("NJ", 0.03), ("CJ", 0.1))
COMPS = (("CBP", 0.4), ("HSI", 0.1), ("ICE-ERO", 0.08), ("USBP", 0.1), ("FBI", 0.1), ("DEA", 0.07),
         ("USMS", 0.05), ("other_federal", 0.1))  # fmt: skip
MIX = (("RQ", "plate", 0.59), ("DQ", "oln", 0.15), ("DQ", "name_dob_sex", 0.14), ("KQ", "oln", 0.04),
       ("DNQ", "name_only", 0.015), ("RNQ", "owner_name", 0.01), ("RPQ", "partial_plate", 0.005),
       ("RQ", "vin", 0.05))  # fmt: skip
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def _pick(rng: random.Random, table: tuple) -> tuple:
    r, acc = rng.random() * sum(t[-1] for t in table), 0.0
    for t in table:
        acc += t[-1]
        if r < acc:
            return t
    return table[-1]


@dataclass
class SynthAgency:
    agency: Agency
    daily: float
    tz: str
    operators: list[str]
    investigative: bool
    pools: dict[str, list[str]] = field(default_factory=dict)


def build_agencies(n: int, seed: int = 1) -> list[SynthAgency]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        cat = _pick(rng, CATS)[0]
        comp = _pick(rng, COMPS)[0] if cat == "FE" else None
        st = rng.choice(("WA", "TX", "CA", "NY", "FL", "OH", "AZ", "IL"))
        ori = f"XXSYN{i:04d}" if cat == "FE" else f"{st}{i:05d}{cat[0]}0"[:9].ljust(9, "0")
        imm = comp in ("ICE-ERO", "USBP", "CBP")
        ag = Agency(ori=ori, category=cat, component=comp, immigration_enforcement=comp == "ICE-ERO" or imm,
                    known=True)  # fmt: skip
        daily = math.exp(rng.gauss(2.5, 1.6))
        n_ops = max(1, round(daily / 25))
        ops = [f"op{i}-{k}" for k in range(n_ops)] if rng.random() < 0.7 else []
        out.append(SynthAgency(ag, daily, rng.choice(ZONES), ops, cat in ("FE", "JA", "CJ")))
    return out


def _local_hour(ts: float, tz: str) -> tuple[int, bool]:
    from stream.detectors._robust import utc_offset

    local = ts + utc_offset(ts, tz)
    return int(local % DAY // HOUR), (int(local // DAY) + 3) % 7 >= 5


def query(a: SynthAgency, ts: float, rng: random.Random, eid: str, **kw: object) -> Query:
    key, mode, _ = _pick(rng, MIX)
    op = rng.choice(a.operators) if a.operators and rng.random() < 0.9 else None
    pool = a.pools.setdefault(op or "-", [])
    if a.investigative and pool and rng.random() < 0.5:
        subject = rng.choice(pool)
    else:
        subject = f"s{rng.getrandbits(48):x}"
        pool.append(subject)
        del pool[:-30]
    pattern = None
    if key == "RPQ":
        pattern, subject = f"{rng.choice(LETTERS)}{rng.choice(LETTERS)}{rng.randrange(10)}*", None
    fields: dict = dict(event_id=eid, ts=ts, source="nlets", message_key=key, ori=a.agency.ori,
                        agency=a.agency, destinations=("WA",), search_mode=mode, subject_key=subject,
                        pattern=pattern, operator_id=op, origin_tz=a.tz)  # fmt: skip
    fields.update(kw)
    return Query(**fields)  # type: ignore[arg-type]


def benign(agencies: list[SynthAgency], days: int, seed: int = 2, start: float = T0) -> Iterator[Query]:
    """Time-ordered benign queries (multi-state children included, flagged not first-of-logical)."""
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    n = 0
    for d in range(days):
        day_f = nrng.gamma(25.0, 1 / 25.0, len(agencies))
        for h in range(24):
            t0 = start + d * DAY + h * HOUR
            hour_f = nrng.gamma(10.0, 1 / 10.0, len(agencies))
            batch: list[Query] = []
            for i, a in enumerate(agencies):
                lh, weekend = _local_hour(t0, a.tz)
                fed = a.agency.category == "FE"
                share = (FED_SHARE if fed else LOCAL_SHARE)[lh] / 100.0
                lam = a.daily * share * day_f[i] * hour_f[i] * ((0.4 if fed else 0.9) if weekend else 1.0)
                for _ in range(nrng.poisson(lam)):
                    n += 1
                    q = query(a, t0 + rng.random() * HOUR, rng, f"b{n}")
                    batch.append(q)
                    if q.message_key in ("DQ", "RQ") and rng.random() < 0.05:
                        batch.append(query(a, q.ts + 0.02, rng, f"b{n}c", parent_query_id=q.event_id,
                                           first_of_logical=False))  # fmt: skip
            batch.sort(key=lambda q: q.ts)
            yield from batch
