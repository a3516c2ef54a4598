"""Static geography for the simulator: states, their IANA zones, population weights and data-policy traits.

Populations (millions, 2020 census, rounded) weight both where agencies sit and which state a query
asks. Trait lists are the simulator's own model, labelled like the domain brief: [S] sourced, [A] assumed.
"""

from __future__ import annotations

# code: (primary IANA zone, population in millions)
STATES: dict[str, tuple[str, float]] = {
    "AL": ("America/Chicago", 5.0),
    "AK": ("America/Anchorage", 0.73),
    "AZ": ("America/Phoenix", 7.2),
    "AR": ("America/Chicago", 3.0),
    "CA": ("America/Los_Angeles", 39.5),
    "CO": ("America/Denver", 5.8),
    "CT": ("America/New_York", 3.6),
    "DE": ("America/New_York", 1.0),
    "DC": ("America/New_York", 0.69),
    "FL": ("America/New_York", 21.5),
    "GA": ("America/New_York", 10.7),
    "HI": ("Pacific/Honolulu", 1.46),
    "ID": ("America/Boise", 1.8),
    "IL": ("America/Chicago", 12.8),
    "IN": ("America/Indiana/Indianapolis", 6.8),
    "IA": ("America/Chicago", 3.2),
    "KS": ("America/Chicago", 2.9),
    "KY": ("America/New_York", 4.5),
    "LA": ("America/Chicago", 4.7),
    "ME": ("America/New_York", 1.36),
    "MD": ("America/New_York", 6.2),
    "MA": ("America/New_York", 7.0),
    "MI": ("America/Detroit", 10.1),
    "MN": ("America/Chicago", 5.7),
    "MS": ("America/Chicago", 2.96),
    "MO": ("America/Chicago", 6.2),
    "MT": ("America/Denver", 1.08),
    "NE": ("America/Chicago", 1.96),
    "NV": ("America/Los_Angeles", 3.1),
    "NH": ("America/New_York", 1.38),
    "NJ": ("America/New_York", 9.3),
    "NM": ("America/Denver", 2.1),
    "NY": ("America/New_York", 20.2),
    "NC": ("America/New_York", 10.4),
    "ND": ("America/Chicago", 0.78),
    "OH": ("America/New_York", 11.8),
    "OK": ("America/Chicago", 4.0),
    "OR": ("America/Los_Angeles", 4.2),
    "PA": ("America/New_York", 13.0),
    "RI": ("America/New_York", 1.1),
    "SC": ("America/New_York", 5.1),
    "SD": ("America/Chicago", 0.89),
    "TN": ("America/Chicago", 6.9),
    "TX": ("America/Chicago", 29.1),
    "UT": ("America/Denver", 3.3),
    "VT": ("America/New_York", 0.64),
    "VA": ("America/New_York", 8.6),
    "WA": ("America/Los_Angeles", 7.7),
    "WV": ("America/New_York", 1.8),
    "WI": ("America/Chicago", 5.9),
    "WY": ("America/Denver", 0.58),
}
STATE_CODES: tuple[str, ...] = tuple(sorted(STATES))

# [A] States on the Canadian or Mexican land border: CBP/USBP offices concentrate there (brief 7.4: CBP is
# about 5% of DMV queries in border states, 1-2% elsewhere).
BORDER_STATES: frozenset[str] = frozenset(
    {"WA", "ID", "MT", "ND", "MN", "MI", "NY", "VT", "NH", "ME", "TX", "NM", "AZ", "CA", "AK"}
)

# [S] 41 states share DL photos via Nlets (brief 3.3); [A] which ten do not is not public: this pick is ours.
NO_PHOTO_STATES: frozenset[str] = frozenset({"CA", "IL", "MA", "MN", "NJ", "NY", "OR", "VT", "WA", "DC"})

# [S/A] Jurisdictions issuing licenses without proof of lawful presence, with the share of returned driver
# records that carry `undocumented_eligible_license` (CA: AB 60, >1M holders of ~27M licences [S];
# others [A]).
UNDOCUMENTED_ELIGIBLE_SHARE: dict[str, float] = {
    "CA": 0.045,
    "CO": 0.02,
    "CT": 0.015,
    "DE": 0.01,
    "DC": 0.02,
    "HI": 0.01,
    "IL": 0.025,
    "MD": 0.02,
    "MA": 0.02,
    "MN": 0.012,
    "NV": 0.02,
    "NJ": 0.025,
    "NM": 0.025,
    "NY": 0.02,
    "OR": 0.02,
    "UT": 0.012,
    "VT": 0.005,
    "VA": 0.015,
    "WA": 0.025,
}
NO_SSN_BASE_SHARE = 0.003  # [A] other records without an SSN on file
LIMITED_TERM_SHARE = 0.015  # [A] limited-term (lawful temporary presence) credentials

# [S] Not in S2S as of Jan 2026: CA (joining in 2026 with guardrails, modelled as joined) and OK.
S2S_STATES: tuple[str, ...] = tuple(s for s in STATE_CODES if s != "OK")


def population_weights(codes: tuple[str, ...] = STATE_CODES) -> list[float]:
    return [STATES[c][1] for c in codes]


def tz_of(state: str) -> str:
    return STATES[state][0]
