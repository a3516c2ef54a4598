"""Small factories for test records (`stream.records`), shared by detector tests.

Every field has a boring default so a test names only what matters to it. Times are epoch seconds;
`T0` is an hour-aligned instant (2026-03-02T00:00:00Z) so window arithmetic in tests stays readable.
"""

from __future__ import annotations

from itertools import count
from typing import Any

from stream.records import Agency, Query, Response

T0: float = 1_772_409_600.0  # 2026-03-02T00:00:00Z, a multiple of 3600 and 86400
_ids = count(1)


def next_id(prefix: str = "ev") -> str:
    """A fresh, unique event id (tests that need stable ids pass their own)."""
    return f"{prefix}-{next(_ids):06d}"


def make_agency(**kw: Any) -> Agency:
    """A local police department unless told otherwise; `make_agency(component="ICE-ERO")` etc."""
    fields: dict[str, Any] = {"ori": "WA0340000", "category": "PD", "known": True}
    fields.update(kw)
    return Agency(**fields)


def ice_agency(ori: str = "XXSYN0001", **kw: Any) -> Agency:
    """A synthetic ICE ERO ORI (federal, primarily enforcing immigration law)."""
    fields: dict[str, Any] = {
        "ori": ori,
        "category": "FE",
        "component": "ICE-ERO",
        "parent_org": "DHS",
        "immigration_enforcement": True,
    }
    fields.update(kw)
    return make_agency(**fields)


def make_query(**kw: Any) -> Query:
    """A plate registration query (RQ) to WA at `T0` from a local PD.

    `agency=` sets the requester; `ori=` defaults to the agency's ORI (and vice versa).
    """
    agency = kw.pop("agency", None)
    ori = kw.pop("ori", None)
    if agency is None:
        agency = make_agency(ori=ori) if ori else make_agency()
    fields: dict[str, Any] = {
        "event_id": next_id("q"),
        "ts": T0,
        "source": "nlets",
        "message_key": "RQ",
        "ori": ori or agency.ori,
        "agency": agency,
        "destinations": ("WA",),
        "search_mode": "plate",
        "subject_key": "h:subject-1",
    }
    fields.update(kw)
    if isinstance(fields["destinations"], list):
        fields["destinations"] = tuple(fields["destinations"])
    return Query(**fields)


def make_response(q: Query | None = None, **kw: Any) -> Response:
    """A HIT answering `q` (or a dangling query id) from its first state destination, 1 s later."""
    state = "WA"
    if q is not None and q.state_destinations:
        state = q.state_destinations[0]
    fields: dict[str, Any] = {
        "event_id": next_id("r"),
        "ts": (q.ts if q is not None else T0) + 1.0,
        "in_reply_to": q.event_id if q is not None else next_id("q"),
        "responding_state": state,
        "outcome": "HIT",
        "record_count": 1,
    }
    fields.update(kw)
    return Response(**fields)
