"""Side streams of the background: IAQ to the LESC, CPQ and face searches, and AAMVA S2S look-ups.

A mixin of `traffic.Background` (it uses the background's factory, responder and routing tables), kept
apart so each module stays small. Scenarios call `s2s` directly to shape S2S misuse.
"""

from __future__ import annotations

import random
from bisect import bisect
from typing import TYPE_CHECKING

from stream.simulate import geo
from stream.simulate.agencies import SimAgency

if TYPE_CHECKING:
    from stream.simulate.events import EventFactory
    from stream.simulate.responses import Responder


class SideStreams:
    f: EventFactory
    resp: Responder
    _s2s_dest: dict[str, list[str]]

    def destinations(self, home: str, avoid_restricted: bool) -> tuple[list[str], list[float]]:
        raise NotImplementedError

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
