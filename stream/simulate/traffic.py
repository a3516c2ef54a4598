"""Background traffic: national DMV queries minute by minute, shaped in each agency's LOCAL time.

Agencies are grouped by (zone, profile); each minute a Poisson count is drawn per group from the group's
weight, its local-hour share (brief 7.4 table) and a weekend factor (patrol 0.9x, federal investigative
0.4x). Configured shares are WEEKDAY shares: a weekday at scale 1 carries ~795k logical DMV queries.
Side streams scale with DMV volume: IAQ 0.25%, face searches 0.05%, CPQ 0.1%, S2S 3% (DMV counters).
Restricted requesters (ICE-ERO, CBP, USBP) keep away from restricted states unless they hold a judicial
predicate, so background traffic carries no policy signal of its own.
"""

from __future__ import annotations

import random
from bisect import bisect
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from stream.simulate import geo, switch
from stream.simulate.agencies import NATIONAL_DAILY, SimAgency
from stream.simulate.calibration import (
    HOURLY,
    MIX,
    MSQ_SHARE,
    PHOTO_SHARE,
    S2S_SHARE,
    SIDE,
    WEEKEND,
    cumulative,
    poisson,
)
from stream.simulate.events import EventFactory
from stream.simulate.responses import Responder

_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


class Background:
    def __init__(
        self,
        agencies: list[SimAgency],
        factory: EventFactory,
        responder: Responder,
        rnd: random.Random,
        *,
        scale: float = 1.0,
        fan_out: int = 8,
    ) -> None:
        self.f, self.resp, self.rnd, self.scale, self.fan_out = factory, responder, rnd, scale, fan_out
        self._dest_cache: dict[tuple[str, bool], tuple[list[str], list[float]]] = {}
        self._hour_cache: dict[tuple[int, str], tuple[int, bool]] = {}
        self._s2s_dest: dict[str, list[str]] = {}
        self.mix_cum = cumulative([m[1] for m in MIX])
        side_total = sum(SIDE.values())
        self.side = [(k, v / (1 + side_total)) for k, v in SIDE.items()]
        self.side_total = side_total / (1 + side_total)
        for a in agencies:
            a.restricted = switch.restricted_component(a.component, a.immigration_enforcement)
            a.routing = self.destinations(a.state if a.category != "FE" else "", a.restricted)
            a.photo_share = PHOTO_SHARE[a.profile]
        self.groups: list[tuple[ZoneInfo, str, float, list[SimAgency], list[float]]] = []
        by: dict[tuple[str, str], list[SimAgency]] = {}
        for a in agencies:
            by.setdefault((a.tz, a.profile), []).append(a)
        s2s_pop = sum(geo.STATES[s][1] for s in geo.S2S_STATES)
        for (tz, profile), members in sorted(by.items()):
            if profile == "dmv":
                weights = [S2S_SHARE * geo.STATES[a.state][1] / s2s_pop for a in members]
            else:
                weights = [a.weight * (1 + side_total) for a in members]
            self.groups.append((ZoneInfo(tz), profile, sum(weights), members, cumulative(weights)))

    def _local(self, zone: ZoneInfo, utc_hour: int) -> tuple[int, bool]:
        key = (utc_hour, zone.key)
        hit = self._hour_cache.get(key)
        if hit is None:
            local = datetime.fromtimestamp(utc_hour * 3600, UTC).astimezone(zone)
            hit = self._hour_cache[key] = (local.hour, local.weekday() >= 5)
        return hit

    def destinations(self, home: str, avoid_restricted: bool) -> tuple[list[str], list[float]]:
        """States a requester queries (interstate for local agencies), population-weighted."""
        key = (home, avoid_restricted)
        hit = self._dest_cache.get(key)
        if hit is None:
            codes = [
                s
                for s in geo.STATE_CODES
                if s != home and not (avoid_restricted and s in switch.RESTRICTED_STATES)
            ]
            hit = self._dest_cache[key] = (codes, cumulative(geo.population_weights(tuple(codes))))
        return hit

    def agency_rate(self, agency: SimAgency, t_ms: int) -> float:
        """Expected background queries per minute of one agency at t_ms (its own baseline)."""
        local_hour, weekend = self._local(ZoneInfo(agency.tz), t_ms // 3_600_000)
        lam = agency.weight * NATIONAL_DAILY * self.scale * HOURLY[agency.profile][local_hour] / 60.0
        return lam * (WEEKEND[agency.profile] if weekend else 1.0)

    def minute(self, t0_ms: int) -> None:
        """Generate every background query (and its responses) of the minute starting at t0_ms."""
        rnd = self.rnd
        hour = t0_ms // 3_600_000
        for zone, profile, weight, members, cum in self.groups:
            local_hour, weekend = self._local(zone, hour)
            lam = weight * NATIONAL_DAILY * self.scale * HOURLY[profile][local_hour] / 60.0
            if weekend:
                lam *= WEEKEND[profile]
            for _ in range(poisson(rnd, lam)):
                agency = members[bisect(cum, rnd.random())]
                self.one(t0_ms + int(rnd.random() * 60_000), agency, rnd)

    def one(self, ms: int, agency: SimAgency, rnd: random.Random) -> None:
        """One background-like query from `agency` (scenarios call this too, with their own rnd)."""
        if agency.profile == "dmv":
            self.s2s(ms, agency, rnd)
            return
        r = rnd.random()
        if r < self.side_total:
            for key, p in self.side:
                if r < p:
                    self.side_query(ms, agency, key, rnd)
                    return
                r -= p
        label, _, key, mode = MIX[bisect(self.mix_cum, rnd.random())]
        imm = agency.restricted
        if agency.routing is None:  # an agency outside the registry (new_requester)
            agency.restricted = imm = switch.restricted_component(
                agency.component, agency.immigration_enforcement
            )
            agency.routing = self.destinations(agency.state if agency.category != "FE" else "", imm)
            agency.photo_share = PHOTO_SHARE[agency.profile]
        codes, cum = agency.routing
        dest = codes[bisect(cum, rnd.random())]
        op = agency.operators[int(rnd.random() * len(agency.operators))] if rnd.random() < 0.8 else None
        image = key == "DQ" and rnd.random() < agency.photo_share
        pattern = None
        if key == "RPQ":
            pattern = f"{rnd.choice(_LETTERS)}{rnd.choice(_LETTERS)}{rnd.randrange(10)}*"
        extra = self.context(agency, rnd)
        predicate = "none"
        if imm and rnd.random() < 0.01:  # a few lawful, court-backed look-ups into statute states
            dest = rnd.choice(("CO", "NJ", "CA"))
            predicate = rnd.choice(("judicial_warrant", "court_order"))
            extra["legal_predicate"] = {"type": predicate, "reference": f"SYN-{rnd.getrandbits(24):06x}"}
        sid = None if key == "RPQ" else rnd.getrandbits(40)
        msq = key in ("DQ", "RQ") and rnd.random() < MSQ_SHARE
        qid = self.f.query(
            ms,
            agency,
            key,
            "nlets",
            mode,
            ["NL"] if msq else [dest],
            sid,
            label,
            operator=op,
            pattern=pattern,
            image=image,
            extra=extra,
        )
        if not msq:
            self.resp.respond(qid, ms, agency, key, dest, image=image, predicate=predicate)
            return
        for i, st in enumerate(rnd.sample(codes, min(self.fan_out, len(codes)))):
            cms = ms + 20 * (i + 1)
            cid = self.f.query(
                cms,
                agency,
                key,
                "nlets",
                mode,
                [st],
                sid,
                label,
                operator=op,
                image=image,
                parent=qid,
                qid=f"{qid}-{st}",
            )
            self.resp.respond(cid, cms, agency, key, st, image=image, msq=True, predicate=predicate)

    def context(self, agency: SimAgency, rnd: random.Random) -> dict[str, object]:
        r = rnd.random()
        extra: dict[str, object] = {"purpose_code": "C"} if r < 0.6 and agency.category != "NJ" else {}
        if agency.profile == "fed_inv" and r < 0.5:
            extra["case_number"] = f"SYN-{agency.ori[5:7]}-{rnd.getrandbits(28):07x}"
        if agency.category == "FE" and r > 0.7:  # some federal front-ends fill the field with "none"
            extra["legal_predicate"] = {"type": "none", "reference": None}
        return extra

    def side_query(self, ms: int, agency: SimAgency, key: str, rnd: random.Random) -> None:
        if key == "IAQ":
            qid = self.f.query(ms, agency, "IAQ", "nlets", "name_dob_sex", ["AX"], rnd.getrandbits(40), "IAQ")
            self.resp.respond_iaq(qid, ms)
            return
        imm = agency.immigration_enforcement
        codes, cum = self.destinations("", imm)
        dest = codes[bisect(cum, rnd.random())]
        face = key == "FRS"
        qid = self.f.query(
            ms,
            agency,
            key,
            "face" if face else "nlets",
            "face_image" if face else "name_dob_sex",
            [dest],
            rnd.getrandbits(40),
            key,
            image=True,
        )
        self.resp.respond(qid, ms, agency, key, dest, image=True, source="face" if face else "nlets")

    def s2s(
        self,
        ms: int,
        agency: SimAgency,
        rnd: random.Random,
        *,
        ssn5: str | None = None,
        app: bool = True,
        dest: str | None = None,
        sid: int | None = None,
    ) -> str:
        """A counter-driven S2S pointer look-up; 3% of applicants have no SSN (the 99999 placeholder)."""
        if dest is None:
            codes = self._s2s_dest.get(agency.state)
            if codes is None:
                codes = self._s2s_dest[agency.state] = [s for s in geo.S2S_STATES if s != agency.state]
            dest = codes[int(rnd.random() * len(codes))]
        ssn5 = ssn5 or ("99999" if rnd.random() < 0.03 else f"{rnd.randrange(100_000):05d}")
        extra = {"in_person_application_id": f"APP-{agency.state}-{rnd.getrandbits(32):08x}" if app else None}
        search_sid = rnd.getrandbits(40) if sid is None else sid
        qid = self.f.query(
            ms,
            agency,
            "S2S",
            "s2s",
            "ssn_last5",
            [dest],
            search_sid,
            "S2S",
            operator=agency.operators[0],
            extra=extra,
            ssn5=ssn5,
        )
        flags = ["no_ssn", "ssn_placeholder_99999"] if ssn5 == "99999" else None
        self.resp.respond(qid, ms, agency, "S2S", dest, source="s2s", flags=flags)
        return qid
