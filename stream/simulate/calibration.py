"""Calibration of the background traffic: the brief 7.4 tables as data.

Shares are WEEKDAY shares of logical DMV queries; hourly shares are of the originator's LOCAL day.
The message-key table of the brief sums to 95%; it is renormalised here to 100%.
"""

from __future__ import annotations

import math
import random


def _per_hour(blocks: list[tuple[int, int, float]]) -> list[float]:
    out = [0.0] * 24
    for lo, hi, share in blocks:
        for h in range(lo, hi):
            out[h] = share / (hi - lo)
    return out


HOURLY = {  # share of the local day per hour
    "patrol": _per_hour(
        [
            (0, 5, 0.03),
            (5, 7, 0.05),
            (7, 10, 0.15),
            (10, 14, 0.22),
            (14, 18, 0.23),
            (18, 22, 0.22),
            (22, 24, 0.10),
        ]
    ),
    # business hours plus early-morning bursts before operations [A, brief 7.4]
    "fed_inv": _per_hour(
        [
            (0, 5, 0.01),
            (5, 7, 0.08),
            (7, 10, 0.20),
            (10, 14, 0.32),
            (14, 18, 0.30),
            (18, 22, 0.07),
            (22, 24, 0.02),
        ]
    ),
    "dmv": _per_hour([(0, 8, 0.0), (8, 12, 0.5), (12, 17, 0.5), (17, 24, 0.0)]),
}
WEEKEND = {"patrol": 0.9, "fed_inv": 0.4, "dmv": 0.1}

# label, share (brief 7.4, renormalised from 95% to 100%), key, search mode
# fmt: off
MIX: list[tuple[str, float, str, str]] = [
    ("RQ plate", 55.0, "RQ", "plate"),
    ("RQ VIN", 4.0, "RQ", "vin"),
    ("DQ OLN", 15.0, "DQ", "oln"),
    ("DQ NAM/DOB", 14.0, "DQ", "name_dob_sex"),
    ("KQ", 4.0, "KQ", "oln"),
    ("DNQ", 1.5, "DNQ", "name_only"),
    ("RNQ", 1.0, "RNQ", "owner_name"),
    ("RPQ", 0.5, "RPQ", "partial_plate"),
]
# fmt: on
MIX_LABELS: frozenset[str] = frozenset(m[0] for m in MIX)  # the DMV mix; IAQ/S2S/FRS/CPQ are side streams
SIDE = {"IAQ": 0.0025, "FRS": 0.0005, "CPQ": 0.001}  # side streams, relative to DMV volume
S2S_SHARE = 0.03  # [A] DMV counter look-ups, relative to DMV volume
MSQ_SHARE = 0.05  # of logical DQ/RQ
REPEAT_SHARE = 0.3  # [A] federal investigative look-ups that revisit a person already on a case
# image_requested share of DQ: about 10% overall, 30-50% for federal investigative ORIs (brief 7.4)
PHOTO_SHARE = {"patrol": 0.09, "fed_inv": 0.40, "dmv": 0.0}


def cumulative(weights: list[float]) -> list[float]:
    """Normalised cumulative weights for `bisect(cum, random())`."""
    total, acc, out = sum(weights), 0.0, []
    for w in weights:
        acc += w
        out.append(acc / total)
    return out


def poisson(rnd: random.Random, lam: float) -> int:
    """Poisson draw: exact (Knuth) for small means, normal approximation above 40."""
    if lam <= 0:
        return 0
    if lam > 40:
        return max(0, round(rnd.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rnd.random()
    while p > limit:
        k += 1
        p *= rnd.random()
    return k
