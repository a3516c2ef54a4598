"""Synthetic agency registry: ~18,000 ORIs with categories, federal components, zones and heavy-tailed sizes.

Volume shares per category and component follow brief 7.4 (PD 45%, SO 20%, SA 20%, FE 8%, courts and
corrections 4%, non-CJ 3%). Within a group, sizes are lognormal (a few big city PDs, many tiny ones).
`weight` is the agency's share of national weekday DMV volume. Local ORIs are `<state><5 digits><type>`;
federal ones use the reserved `XXSYN` prefix (brief 2.2) and keep their office state for zone and routing.
State DMVs appear as `<state>0000S2S` for the S2S stream only (weight 0 in the DMV mix).
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from stream.simulate import geo

NATIONAL_DAILY = 795_000  # brief 3.2: 290M DMV queries a year

# category -> (share of agency count, share of DMV volume, ORI tail)
LOCAL_CATEGORIES: dict[str, tuple[float, float, str]] = {
    "PD": (0.66, 0.45, "00"),
    "SO": (0.17, 0.20, "S0"),
    "SA": (0.012, 0.20, "P0"),
    "JJ": (0.028, 0.014, "J0"),
    "JC": (0.024, 0.012, "C0"),
    "JA": (0.016, 0.008, "A0"),
    "JG": (0.012, 0.006, "G0"),
    "NJ": (0.048, 0.03, "X0"),
}
FEDERAL_SHARE_OF_COUNT = 0.03
# component -> (share of federal ORIs, share of national DMV volume, parent org, immigration enforcement,
# ORI code, investigative profile). Volumes: ICE 0.10%, HSI 0.21% [D, brief 3.2]; CBP about 2-3% [D/A].
FEDERAL_COMPONENTS: dict[str, tuple[float, float, str, bool, str, bool]] = {
    "ICE-ERO": (0.09, 0.0010, "DHS", True, "IE", True),
    "HSI": (0.11, 0.0021, "DHS", False, "HS", True),
    "CBP": (0.26, 0.0260, "DHS", True, "CB", False),
    "USBP": (0.11, 0.0080, "DHS", True, "BP", False),
    "FBI": (0.10, 0.0120, "DOJ", False, "FB", True),
    "DEA": (0.07, 0.0070, "DOJ", False, "DE", True),
    "USMS": (0.12, 0.0090, "DOJ", False, "MS", True),
    "OTHER": (0.14, 0.0149, "", False, "OF", True),
}
_OTHER_FEDERAL = (("USSS", "DHS"), ("IRS-CI", "TREAS"), ("NPS", "DOI"), ("ATF", "DOJ"), ("OIG", "USDA"))
_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(slots=True)
class SimAgency:
    ori: str
    name: str
    category: str
    component: str | None
    parent_org: str | None
    immigration_enforcement: bool
    state: str
    tz: str
    weight: float
    profile: str  # "patrol" | "fed_inv" | "dmv": diurnal and weekly shape
    operators: tuple[str, ...] = ()
    enrichment: dict[str, Any] = field(default_factory=dict)
    routing: tuple[list[str], list[float]] | None = None  # cached destination table (traffic.py)
    photo_share: float = 0.0
    restricted: bool = False  # immigration-enforcement component: kept out of restricted states

    def row(self) -> dict[str, Any]:
        return {
            "ori": self.ori,
            "name": self.name,
            "category": self.category,
            "component": self.component,
            "parent_org": self.parent_org,
            "immigration_enforcement": self.immigration_enforcement,
            "state": self.state,
            "tz": self.tz,
            "weight": round(self.weight, 12),
            "operators": len(self.operators),
        }


def _operators(seed: int, ori: str, n: int) -> tuple[str, ...]:
    return tuple(
        "op-" + hashlib.blake2s(f"{seed}:{ori}:{i}".encode(), digest_size=5).hexdigest() for i in range(n)
    )


def _finish(agencies: list[SimAgency], seed: int) -> None:
    for a in agencies:
        daily = a.weight * NATIONAL_DAILY
        a.operators = _operators(seed, a.ori, max(1, min(400, math.ceil(daily / 40))))
        a.enrichment = {
            "name": a.name,
            "category": a.category,
            "parent_org": a.parent_org,
            "component": a.component,
            "immigration_enforcement": a.immigration_enforcement,
        }


def _normalize(group: list[SimAgency], raw: list[float], share: float) -> None:
    total = sum(raw) or 1.0
    for a, r in zip(group, raw, strict=True):
        a.weight = share * r / total


def _local(rnd: random.Random, n_total: int) -> list[SimAgency]:
    states = geo.STATE_CODES
    pops = geo.population_weights()
    seq = dict.fromkeys(states, 0)
    out: list[SimAgency] = []
    for cat, (count_share, vol_share, tail) in LOCAL_CATEGORIES.items():
        n = max(len(states) if cat == "SA" else 1, round(n_total * count_share))
        group: list[SimAgency] = []
        for i in range(n):
            st = states[i % len(states)] if cat == "SA" and i < len(states) else rnd.choices(states, pops)[0]
            seq[st] += 1
            ori = f"{st}{seq[st]:05d}{tail}"
            name = f"Synthetic {st} {cat} {seq[st]}"
            group.append(SimAgency(ori, name, cat, None, None, False, st, geo.tz_of(st), 0.0, "patrol"))
        # heavier tail for city PDs and sheriffs; state police volume scales with the state
        raw = [rnd.lognormvariate(0.0, 1.5 if cat in ("PD", "SO") else 1.0) for _ in group]
        if cat == "SA":
            raw = [r * geo.STATES[a.state][1] for r, a in zip(raw, group, strict=True)]
        _normalize(group, raw, vol_share)
        out.extend(group)
    return out


def _federal(rnd: random.Random, n_total: int) -> list[SimAgency]:
    n_fe = max(len(FEDERAL_COMPONENTS) * 2, round(n_total * FEDERAL_SHARE_OF_COUNT))
    states = geo.STATE_CODES
    pops = geo.population_weights()
    border = [s for s in states if s in geo.BORDER_STATES]
    out: list[SimAgency] = []
    for comp, (cshare, vshare, parent, imm, code, inv) in FEDERAL_COMPONENTS.items():
        group: list[SimAgency] = []
        for i in range(max(2, round(n_fe * cshare))):
            at_border = comp in ("CBP", "USBP") and rnd.random() < 0.8
            st = rnd.choice(border) if at_border else rnd.choices(states, pops)[0]
            name_comp, parent_org = (comp, parent) if comp != "OTHER" else rnd.choice(_OTHER_FEDERAL)
            ori = f"XXSYN{code}{_B36[i // 36 % 36]}{_B36[i % 36]}"
            group.append(
                SimAgency(
                    ori,
                    f"Synthetic {name_comp} office {st}-{i}",
                    "FE",
                    name_comp,
                    parent_org,
                    imm,
                    st,
                    geo.tz_of(st),
                    0.0,
                    "fed_inv" if inv else "patrol",
                )
            )
        _normalize(group, [rnd.lognormvariate(0.0, 1.0) for _ in group], vshare)
        out.extend(group)
    return out


def _dmvs() -> list[SimAgency]:
    return [
        SimAgency(
            f"{st}0000S2S",
            f"Synthetic {st} DMV (S2S)",
            "NJ",
            None,
            "DMV",
            False,
            st,
            geo.tz_of(st),
            0.0,
            "dmv",
        )
        for st in geo.S2S_STATES
    ]


def build_registry(seed: int, n_agencies: int = 18_000) -> list[SimAgency]:
    """Deterministic for a seed: the same seed and size give the same agencies in the same order."""
    rnd = random.Random(f"registry:{seed}")
    agencies = _local(rnd, n_agencies) + _federal(rnd, n_agencies) + _dmvs()
    _finish(agencies, seed)
    return agencies


def new_federal_agency(seed: int, component: str, state: str, index: int) -> SimAgency:
    """An ORI that is NOT in the written registry (new_requester scenario)."""
    _, _, parent, imm, code, inv = FEDERAL_COMPONENTS.get(component, FEDERAL_COMPONENTS["OTHER"])
    ori = f"XXSYN{code}Z{_B36[index % 36]}"
    a = SimAgency(
        ori,
        f"Synthetic new {component} office",
        "FE",
        component,
        parent or "DHS",
        imm,
        state,
        geo.tz_of(state),
        0.0,
        "fed_inv" if inv else "patrol",
    )
    _finish([a], seed)
    a.operators = _operators(seed, ori, 3)
    return a


def write_registry(agencies: list[SimAgency], path: Path) -> None:
    with path.open("wb") as fh:
        for a in agencies:
            fh.write(orjson.dumps(a.row()) + b"\n")
