"""Response model: outcomes, latencies, returned fields and sensitive record flags (brief 7.4).

Every query goes through `Responder.respond`, which first asks the simulated switch (`switch.py`) whether
the destination blocks the requester, then draws an outcome. Latency is lognormal with median 1.5 s and
p95 6 s for direct queries; per-state children of a multi-state query take longer (up to 60 s).
"""

from __future__ import annotations

import math
import random
from bisect import bisect
from statistics import NormalDist

from stream.simulate import geo, switch
from stream.simulate.agencies import SimAgency
from stream.simulate.events import EventFactory

_TABLES: dict[str, list[tuple[str, float]]] = {
    "RQ": [
        ("HIT", 0.80),
        ("NOT_ON_FILE", 0.15),
        ("MULTI_HIT", 0.02),
        ("TEMPORARILY_UNAVAILABLE", 0.01),
        ("SM_01", 0.01),
        ("REJECTED_FORMAT", 0.01),
    ],
    "DQ": [
        ("HIT", 0.70),
        ("NOT_ON_FILE", 0.25),
        ("MULTI_HIT", 0.015),
        ("FILE_NOT_AVAILABLE", 0.01),
        ("TEMPORARILY_UNAVAILABLE", 0.01),
        ("SM_02", 0.01),
        ("REJECTED_FORMAT", 0.005),
    ],
    "S2S": [("HIT", 0.15), ("NOT_ON_FILE", 0.84), ("TEMPORARILY_UNAVAILABLE", 0.01)],
    "FRS": [("MULTI_HIT", 0.85), ("NOT_ON_FILE", 0.15)],
}
_TABLE_OF = {
    "RQ": "RQ",
    "RNQ": "RQ",
    "RPQ": "RQ",
    "DQ": "DQ",
    "KQ": "DQ",
    "DNQ": "DQ",
    "CPQ": "DQ",
    "S2S": "S2S",
    "FRS": "FRS",
}
_CUM: dict[str, tuple[list[float], list[str]]] = {}
for _k, _rows in _TABLES.items():
    _acc, _cum = 0.0, []
    for _, _p in _rows:
        _acc += _p
        _cum.append(_acc)
    _CUM[_k] = ([c / _acc for c in _cum], [o for o, _ in _rows])

RESPONSE_KEY = {
    "RQ": "RR",
    "RNQ": "RNR",
    "RPQ": "RPR",
    "DQ": "DR",
    "KQ": "KR",
    "DNQ": "DR",
    "CPQ": "CPR",
    "S2S": "S2R",
    "FRS": "FRR",
    "IAQ": "IAR",
}
_VEHICLE = ["vehicle", "owner", "address"]
_DRIVER = ["name", "address", "dob", "description", "oln", "license_class", "status"]
_FIELDS = {
    "RQ": _VEHICLE,
    "RNQ": _VEHICLE,
    "RPQ": _VEHICLE,
    "DQ": _DRIVER,
    "DNQ": _DRIVER,
    "KQ": [*_DRIVER, "history"],
    "CPQ": ["name", "dob", "description"],
    "S2S": ["name", "dob", "status"],
    "FRS": ["photo"],
}
DRIVER_KEYS = frozenset({"DQ", "KQ", "DNQ", "CPQ", "S2S"})
_NO_PHOTO = geo.NO_PHOTO_STATES


def _spec(key: str) -> tuple[list[float], list[str], str, list[str], list[str], bool, int]:
    """Everything respond() needs about a message key, looked up once per response."""
    cum, names = _CUM[_TABLE_OF.get(key, "DQ")]
    fields = _FIELDS.get(key, _DRIVER)
    with_photo = fields if key == "FRS" else [*fields, "photo"]
    multi = 40 if key in ("RPQ", "FRS") else 6
    return cum, names, RESPONSE_KEY.get(key, "SM"), fields, with_photo, key in DRIVER_KEYS, multi


_SPECS = {k: _spec(k) for k in (*_TABLE_OF, "IAQ")}
ANSWERED = frozenset({"HIT", "MULTI_HIT"})
_LN_MEDIAN, _SIGMA = math.log(1500.0), math.log(4.0) / 1.645  # median 1.5 s, p95 6 s
_LAT_N = 4096
# Latency quantile tables (inverse lognormal CDF at mid-points): one random() per draw on the hot path.
_LAT = [int(math.exp(_LN_MEDIAN + _SIGMA * NormalDist().inv_cdf((i + 0.5) / _LAT_N))) for i in range(_LAT_N)]
_LAT_MSQ = [min(60_000, int(v * math.e)) for v in _LAT]  # per-state children: slower, capped at 60 s


class Responder:
    def __init__(self, factory: EventFactory, rnd: random.Random, no_response_share: float = 0.01) -> None:
        self.f = factory
        self.rnd = rnd
        self.no_response_share = no_response_share

    def latency(self, msq: bool = False) -> int:
        return (_LAT_MSQ if msq else _LAT)[int(self.rnd.random() * _LAT_N)]

    def flags(self, dest: str, key: str) -> list[str] | None:
        r = self.rnd.random()
        ue = geo.UNDOCUMENTED_ELIGIBLE_SHARE.get(dest, 0.0)
        if r < ue:
            out = ["no_ssn", "undocumented_eligible_license"]
            return [*out, "ssn_placeholder_99999"] if key == "S2S" else out
        if r < ue + geo.NO_SSN_BASE_SHARE:
            return ["no_ssn", "ssn_placeholder_99999"] if key == "S2S" else ["no_ssn"]
        if r < ue + geo.NO_SSN_BASE_SHARE + geo.LIMITED_TERM_SHARE:
            return ["limited_term"]
        return None

    def blocked_by(self, agency: SimAgency, dest: str, predicate: str, source: str) -> str | None:
        if source == "face" and agency.immigration_enforcement and dest in switch.FACE_BAN_STATES:
            return switch.face_rule(dest)
        return switch.decide(dest, agency.component, agency.immigration_enforcement, predicate)

    def respond(
        self,
        qid: str,
        ms: int,
        agency: SimAgency,
        key: str,
        dest: str,
        *,
        image: bool = False,
        msq: bool = False,
        predicate: str = "none",
        source: str = "nlets",
        force: str | None = None,
        flags: list[str] | None = None,
    ) -> str | None:
        """Emit the response (or none); returns the outcome. `force` overrides both switch and draw."""
        rnd = self.rnd
        if force is None and rnd.random() < self.no_response_share:
            return None
        rule = None
        if force is None and (dest in switch.SWITCH_RULES or source == "face"):
            rule = self.blocked_by(agency, dest, predicate, source)
        cum, names, rkey, fields, with_photo, driver, multi = _SPECS.get(key) or _spec(key)
        if rule is not None or force == "BLOCKED_BY_POLICY":
            rule = rule or switch.SWITCH_RULES.get(dest, switch.SWITCH_RULES["WA"]).rule_id
            lat = rnd.randrange(150, 900)  # the switch answers at once
            self.f.response(ms + lat, qid, dest, rkey, "BLOCKED_BY_POLICY", lat, [], rule=rule)
            return "BLOCKED_BY_POLICY"
        outcome = force if force is not None else names[bisect(cum, rnd.random())]
        lat = (_LAT_MSQ if msq else _LAT)[int(rnd.random() * _LAT_N)]
        if outcome not in ANSWERED:
            self.f.response(ms + lat, qid, dest, rkey, outcome, lat, [])
            return outcome
        photo = key == "FRS" or (image and dest not in _NO_PHOTO)
        if photo:
            fields = with_photo
        count = 1 if outcome == "HIT" else rnd.randrange(2, multi)
        if flags is None and driver:
            flags = self.flags(dest, key)
        self.f.response(
            ms + lat,
            qid,
            dest,
            rkey,
            outcome,
            lat,
            fields,
            count=count,
            photo=photo,
            faces=count if key == "FRS" else None,
            flags=flags,
        )
        return outcome

    def respond_iaq(self, qid: str, ms: int) -> None:
        """IAQ to the LESC: an automatic ACK within a second, the IAR minutes later."""
        rnd = self.rnd
        ack = rnd.randrange(150, 950)
        self.f.response(ms + ack, qid, "AX", "IAR", "ACK_ONLY", ack, [])
        if rnd.random() < self.no_response_share:
            return
        lat = rnd.randrange(120_000, 900_000)
        outcome = "HIT" if rnd.random() < 0.6 else "NOT_ON_FILE"
        fields = ["name", "dob", "status"] if outcome == "HIT" else []
        self.f.response(ms + lat, qid, "AX", "IAR", outcome, lat, fields, count=int(outcome == "HIT"))
