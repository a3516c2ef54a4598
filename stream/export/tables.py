"""Tidy tables built from one month's counters (column dictionary: docs/export-columns.md).

Every table is a list of rows with fixed columns, sorted, so the same counters always give the same
bytes. Public-release mode (`suppress`) replaces counts 1..k-1 with the text "<k" and blanks the
figures derived from a suppressed count. True zeros stay 0: they disclose nothing about anyone.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from stream.aggregates import OUTCOME_CLASSES
from stream.records import IMMIGRATION_COMPONENTS

Cell = int | float | str


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    columns: tuple[str, ...]
    counts: frozenset[str]  # columns holding counts (suppressible)
    rows: list[tuple[Cell, ...]]
    derived: dict[str, str] = field(default_factory=dict)  # column -> the count it is derived from

    def dicts(self) -> list[dict[str, Cell]]:
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]


def parse(counters: dict[str, int]) -> dict[str, list[tuple[list[str], int]]]:
    """Counter keys grouped by family, fields split. Run once per month: it is the export's hot loop."""
    fam: dict[str, list[tuple[list[str], int]]] = defaultdict(list)
    enabled = gc.isenabled()
    gc.disable()  # a million small containers would trigger the cyclic GC over and over, for nothing
    try:
        for key, value in counters.items():
            parts = key.split("|")
            fam[parts[0]].append((parts[1:], value))
    finally:
        if enabled:
            gc.enable()
    return fam


def agency_info(fam: dict[str, list[tuple[list[str], int]]]) -> dict[str, tuple[str, str, int]]:
    """ORI -> (category, component, immigration 0/1): the identity seen on most events (ties: sorted)."""
    best: dict[str, tuple[int, tuple[str, str, int]]] = {}
    for (ori, cat, comp, imm), n in sorted(fam.get("a", []), key=lambda kv: kv[0]):
        if ori not in best or n > best[ori][0]:
            best[ori] = (n, (cat, comp, int(imm)))
    return {ori: ident for ori, (_, ident) in best.items()}


def is_immigration(component: str, imm: int) -> bool:
    return bool(imm) or component in IMMIGRATION_COMPONENTS


def immigration_oris(info: dict[str, tuple[str, str, int]]) -> frozenset[str]:
    """ORIs of immigration-enforcement agencies (by flag or component), for cheap per-key tests."""
    return frozenset(ori for ori, (_cat, comp, imm) in info.items() if is_immigration(comp, imm))


def _rows(acc: dict[Any, list[int]], month: str) -> list[tuple[Cell, ...]]:
    return [(month, *k, *v) for k, v in sorted(acc.items())]


def _acc(width: int) -> defaultdict[Any, list[int]]:
    return defaultdict(lambda: [0] * width)


def agencies(month: str, fam: dict, info: dict) -> Table:
    cols = (
        "query_events",
        "logical_queries",
        "photo_requests",
        "face_searches",
        *OUTCOME_CLASSES,
        "photos_returned",
    )
    acc = _acc(len(cols))
    for (ori, _c, _comp, _i), n in fam.get("a", []):
        acc[ori][0] += n
    for (ori, _comp, _mk, photo, face), n in fam.get("l", []):
        acc[ori][1] += n
        acc[ori][2] += n * int(photo)
        acc[ori][3] += n * int(face)
    for (ori, _comp, _st, outcome), n in fam.get("o", []):
        acc[ori][4 + OUTCOME_CLASSES.index(outcome)] += n
    for (ori, _comp, _st), n in fam.get("pr", []):
        acc[ori][-1] += n
    rows = []
    for ori, v in sorted(acc.items()):
        cat, comp, imm = info.get(ori, ("unknown", "none", 0))
        rows.append((month, ori, cat, comp, int(is_immigration(comp, imm)), *v))
    return Table(
        "agencies",
        "Requests and outcomes per requesting agency (ORI)",
        ("month", "ori", "category", "component", "immigration_enforcement", *cols),
        frozenset(cols),
        rows,
    )


def component_state(month: str, fam: dict, info: dict) -> Table:
    cols = ("requests", *OUTCOME_CLASSES)
    acc = _acc(len(cols))

    imm_oris = immigration_oris(info)

    def imm_of(ori: str, comp: str) -> int:
        return int(ori in imm_oris or comp in IMMIGRATION_COMPONENTS)

    for (ori, comp, dest, _mk), n in fam.get("q", []):
        acc[(comp, imm_of(ori, comp), dest)][0] += n
    for (ori, comp, st, outcome), n in fam.get("o", []):
        acc[(comp, imm_of(ori, comp), st)][1 + OUTCOME_CLASSES.index(outcome)] += n
    return Table(
        "component_state",
        "Requests and responses by federal component and state",
        ("month", "component", "immigration_enforcement", "state", *cols),
        frozenset(cols),
        _rows(acc, month),
    )


def state_outcome(month: str, fam: dict) -> Table:
    acc = _acc(1)
    for (_ori, _comp, st, outcome), n in fam.get("o", []):
        acc[(st, outcome)][0] += n
    return Table(
        "state_outcome",
        "Responses by responding state and outcome",
        ("month", "state", "outcome", "responses"),
        frozenset({"responses"}),
        _rows(acc, month),
    )


def message_keys(month: str, fam: dict) -> Table:
    acc = _acc(2)
    for (_ori, _comp, _dest, mk), n in fam.get("q", []):
        acc[(mk,)][1] += n
    for (_ori, _comp, mk, _p, _f), n in fam.get("l", []):
        acc[(mk,)][0] += n
    return Table(
        "message_keys",
        "Logical queries and per-destination requests by message key",
        ("month", "message_key", "logical_queries", "requests"),
        frozenset({"logical_queries", "requests"}),
        _rows(acc, month),
    )


def photo_face(month: str, fam: dict) -> Table:
    cols = ("photo_requests", "photos_returned", "face_searches")
    acc = _acc(3)
    for i, family in enumerate(("p", "pr", "f")):
        for (_ori, comp, st), n in fam.get(family, []):
            acc[(comp, st)][i] += n
    return Table(
        "photo_face",
        "Photo requests, photos returned and face searches by component and state",
        ("month", "component", "state", *cols),
        frozenset(cols),
        _rows(acc, month),
    )


def alerts(month: str, fam: dict) -> Table:
    acc = _acc(1)
    for (det, sev, status), n in fam.get("al", []):
        acc[(det, sev, status)][0] += n
    return Table(
        "alerts",
        "Alerts raised by detector, severity and status when raised",
        ("month", "detector", "severity", "status", "alerts"),
        frozenset({"alerts"}),
        _rows(acc, month),
    )


def alert_handling(month: str, fam: dict) -> Table:
    acc = _acc(4)  # raised, silenced, acknowledged, seconds total
    for (det, _sev, status), n in fam.get("al", []):
        acc[det][0] += n
        acc[det][1] += n if status == "silenced" else 0
    for (det, what), n in fam.get("ak", []):
        acc[det][2 if what == "n" else 3] += n
    rows: list[tuple[Cell, ...]] = []
    for det, (raised, silenced, acked, secs) in sorted(acc.items()):
        mean: Cell = round(secs / acked, 1) if acked else ""
        rows.append((month, det, raised, silenced, acked, secs, mean))
    return Table(
        "alert_handling",
        "How alerts were handled: acknowledgments and time to acknowledge",
        (
            "month",
            "detector",
            "raised",
            "silenced",
            "acknowledged",
            "seconds_to_ack_total",
            "mean_seconds_to_ack",
        ),
        frozenset({"raised", "silenced", "acknowledged"}),
        rows,
        {"seconds_to_ack_total": "acknowledged", "mean_seconds_to_ack": "acknowledged"},
    )


def suppress(table: Table, k: int) -> Table:
    """Public-release copy: counts in 1..k-1 become '<k'; figures derived from them become ''."""
    idx = {c: i for i, c in enumerate(table.columns)}
    count_idx = [idx[c] for c in table.columns if c in table.counts]
    derived = [(idx[c], idx[base]) for c, base in table.derived.items()]
    masked = f"<{k}"
    rows: list[tuple[Cell, ...]] = []
    for row in table.rows:
        cells = list(row)
        small = {i for i in count_idx if isinstance(cells[i], int) and 0 < int(cells[i]) < k}
        for i in small:
            cells[i] = masked
        for i, base in derived:
            if base in small:
                cells[i] = ""
        rows.append(tuple(cells))
    return replace(table, rows=rows)
