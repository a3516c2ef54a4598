"""All tables of a month, starting with the headline figures (report cards, `summary`, trend)."""

from __future__ import annotations

from stream.aggregates import OUTCOME_CLASSES
from stream.export import tables as t
from stream.export.tables import Table, agency_info, immigration_oris, parse
from stream.records import IMMIGRATION_COMPONENTS


def summary_figures(counters: dict[str, int]) -> dict[str, int]:
    """Headline numbers of one month (also used for the trend over months)."""
    fam = parse(counters)
    return figures(fam, agency_info(fam))


def figures(
    fam: dict[str, list[tuple[list[str], int]]], info: dict[str, tuple[str, str, int]]
) -> dict[str, int]:
    out = dict.fromkeys(SUMMARY_METRICS, 0)
    imm_oris = immigration_oris(info)

    def imm(ori: str, comp: str) -> bool:
        return ori in imm_oris or comp in IMMIGRATION_COMPONENTS

    for (ori, comp, _m, photo, face), n in fam.get("l", []):
        out["logical_queries"] += n
        if imm(ori, comp):
            out["immigration_logical_queries"] += n
        out["photo_requests"] += n * int(photo)
        out["face_searches"] += n * int(face)
    for _k, n in fam.get("a", []):
        out["query_events"] += n
    for (ori, comp, dest, _m), n in fam.get("q", []):
        # Per-state requests: the NL broadcast itself is not a request to a state (its children are).
        if dest != "NL" and imm(ori, comp):
            out["immigration_requests"] += n
    for (ori, comp, _s, outcome), n in fam.get("o", []):
        out["responses"] += n
        out[outcome] += n
        if imm(ori, comp):
            out[f"immigration_{outcome}"] += n
    for _k, n in fam.get("pr", []):
        out["photos_returned"] += n
    for (_d, _s, _st), n in fam.get("al", []):
        out["alerts_raised"] += n
    for (_d, what), n in fam.get("ak", []):
        out["alerts_acknowledged"] += n if what == "n" else 0
    return out


SUMMARY_METRICS: tuple[str, ...] = (
    "logical_queries",
    "query_events",
    "responses",
    *OUTCOME_CLASSES,
    "photo_requests",
    "photos_returned",
    "face_searches",
    "immigration_logical_queries",
    "immigration_requests",
    *(f"immigration_{o}" for o in OUTCOME_CLASSES),
    "alerts_raised",
    "alerts_acknowledged",
)


TREND_METRICS: tuple[str, ...] = (
    "logical_queries",
    "immigration_requests",
    "blocked",
    "answered_despite_policy",
    "alerts_raised",
)


def trend_figures(counters: dict[str, int]) -> dict[str, int]:
    """TREND_METRICS of a month: from its `s|` totals when present (the aggregator writes them, and the
    CLI then reads only those fields of earlier months); else one lean pass over the full counters."""
    if "s|events" in counters:
        return {k: counters.get(f"s|{k}", 0) for k in TREND_METRICS}
    imm_oris = immigration_oris(
        agency_info({"a": [(k.split("|")[1:], n) for k, n in counters.items() if k.startswith("a|")]})
    )
    out = dict.fromkeys(TREND_METRICS, 0)
    for key, n in counters.items():
        head = key[:2]
        if head == "l|":
            out["logical_queries"] += n
        elif head == "q|":
            _q, ori, comp, dest, _mk = key.split("|")
            if dest != "NL" and (ori in imm_oris or comp in IMMIGRATION_COMPONENTS):
                out["immigration_requests"] += n
        elif head == "o|":
            outcome = key[key.rindex("|") + 1 :]
            if outcome in ("blocked", "answered_despite_policy"):
                out[outcome] += n
        elif key.startswith("al|"):
            out["alerts_raised"] += n
    return out


def summary(month: str, values: dict[str, int]) -> Table:
    return Table(
        "summary",
        "Headline figures",
        ("month", "metric", "value"),
        frozenset({"value"}),
        [(month, k, values[k]) for k in SUMMARY_METRICS],
    )


def build_tables(month: str, counters: dict[str, int]) -> list[Table]:
    """All tables for one month, in a fixed order."""
    fam = parse(counters)
    info = agency_info(fam)
    return [
        summary(month, figures(fam, info)),
        t.agencies(month, fam, info),
        t.component_state(month, fam, info),
        t.state_outcome(month, fam),
        t.message_keys(month, fam),
        t.photo_face(month, fam),
        t.alerts(month, fam),
        t.alert_handling(month, fam),
    ]
