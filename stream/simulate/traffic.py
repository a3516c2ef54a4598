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
    REPEAT_SHARE,
    S2S_SHARE,
    SIDE,
    WEEKEND,
    cumulative,
    poisson,
)
from stream.simulate.events import EventFactory
from stream.simulate.responses import Responder
from stream.simulate.side import SideStreams

_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


class Background(SideStreams):
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
        self._cases: dict[str, list[tuple[int, int]]] = {}  # ORI -> recent (subject, look-ups)
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
        if key == "RPQ":
            sid = None
        elif agency.profile == "fed_inv":
            sid = self.case_subject(agency, rnd)
        else:
            sid = rnd.getrandbits(40)
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

    def case_subject(self, agency: SimAgency, rnd: random.Random) -> int:
        """Investigators come back to people on their cases (brief 7.4), but in background traffic
        never 5 times: at most 3 look-ups per person for immigration enforcement, 4 for others."""
        pool = self._cases.setdefault(agency.ori, [])
        if pool and rnd.random() < REPEAT_SHARE:
            i = int(rnd.random() * len(pool))
            sid, uses = pool[i]
            if uses + 1 >= (3 if agency.immigration_enforcement else 4):
                pool.pop(i)
            else:
                pool[i] = (sid, uses + 1)
            return sid
        sid = rnd.getrandbits(40)
        pool.append((sid, 1))
        if len(pool) > 30:
            pool.pop(0)
        return sid

    def context(self, agency: SimAgency, rnd: random.Random) -> dict[str, object]:
        r = rnd.random()
        extra: dict[str, object] = {"purpose_code": "C"} if r < 0.6 and agency.category != "NJ" else {}
        if agency.profile == "fed_inv" and r < 0.5:
            extra["case_number"] = f"SYN-{agency.ori[5:7]}-{rnd.getrandbits(28):07x}"
        if agency.category == "FE" and r > 0.7:  # some federal front-ends fill the field with "none"
            extra["legal_predicate"] = {"type": "none", "reference": None}
        return extra
