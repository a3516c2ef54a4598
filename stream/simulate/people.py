"""Synthetic people: subject keys and clear-text identities derived from a subject id.

Names come from invented word lists, so no generated identity is a real person's. The same subject id
always gives the same key, name, DOB, licence number and plate, so clear-text raw-tap events and
hashed events about one person agree.
"""

from __future__ import annotations

_MASK48 = (1 << 48) - 1
_FIRST = (
    "ALEX",
    "JORDAN",
    "TAYLOR",
    "MORGAN",
    "CASEY",
    "RILEY",
    "JAMIE",
    "AVERY",
    "QUINN",
    "ROWAN",
    "SKYLER",
    "DREW",
    "PARKER",
    "REESE",
    "SAGE",
    "EMERY",
    "HAYDEN",
    "LOGAN",
    "KENDALL",
    "BLAKE",
)
_LAST = (
    "SYNTHA",
    "TESTARO",
    "FAKERSON",
    "MOCKLEY",
    "SAMPLEZ",
    "PLACETTI",
    "DUMONTI",
    "NULLWOOD",
    "EXAMPLO",
    "PSEUDONE",
    "FICTOR",
    "IMAGINO",
    "VIRTANO",
    "PROTOVA",
    "DRAFTLY",
    "SIMONEZ",
)
_ALNUM = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def subject_key(sid: int) -> str:
    """Stand-in for the upstream keyed hash: equal subjects get equal keys."""
    return f"s-{(sid * 0x9E3779B97F4A7C15) & _MASK48:012x}"


def person(sid: int, state: str) -> dict[str, str]:
    """A synthetic person (and plate) derived from the subject id, so clear text matches subject_key."""
    first = _FIRST[sid % len(_FIRST)]
    last = _LAST[(sid // 20) % len(_LAST)]
    dob = f"{1950 + sid % 55}-{1 + sid // 7 % 12:02d}-{1 + sid // 11 % 28:02d}"
    plate = "".join(_ALNUM[(sid >> (5 * i)) % len(_ALNUM)] for i in range(7))
    return {"name": f"{last},{first}", "dob": dob, "oln": f"{state}{sid % 100_000_000:08d}", "plate": plate}
