"""The monthly HTML report for readers who are not engineers: headline numbers, tables, charts, method.

Self-contained (inline CSS, charts as base64 PNG), no personal data (agency ORIs are public identifiers
of agencies; no subject, operator or record attribute appears), no timestamp other than the month.
Works on tables already suppressed for public release: "<k" cells are drawn as zero in charts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from html import escape

from stream.export import charts
from stream.export.report_text import CSS, HEADLINES, METHOD
from stream.export.tables import Cell, Table

_OUTCOMES = ("answered", "blocked", "answered_despite_policy", "not_on_file", "other")


def _n(cell: Cell) -> float:
    """Numeric value for charts; suppressed ('<k') and blank cells count as zero."""
    return float(cell) if isinstance(cell, int | float) else 0.0


def _fmt(cell: Cell) -> str:
    if isinstance(cell, int):
        return f"{cell:,}"
    return escape(str(cell))


def _table(columns: Sequence[str], rows: Sequence[Sequence[Cell]], limit: int | None = None) -> str:
    shown = rows if limit is None else rows[:limit]
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(c)}</td>" for c in r) + "</tr>" for r in shown)
    more = ""
    if limit is not None and len(rows) > limit:
        more = f"<p class='note'>Showing {limit} of {len(rows):,} rows; the CSV/JSON export has them all.</p>"
    return f"<table><tr>{head}</tr>{body}</table>{more}"


def _img(b64: str, alt: str) -> str:
    return f"<img alt='{escape(alt)}' src='data:image/png;base64,{b64}'>"


def _select(t: Table, *cols: str) -> list[tuple[Cell, ...]]:
    idx = [t.columns.index(c) for c in cols]
    return [tuple(r[i] for i in idx) for r in t.rows]


def _by_volume(rows: list[tuple[Cell, ...]], col: int) -> list[tuple[Cell, ...]]:
    """Largest first (suppressed cells last), ties by the row's text: a stable order."""
    return sorted(rows, key=lambda r: (-_n(r[col]), tuple(str(c) for c in r)))


def _headlines(summary: Table) -> str:
    values = {r[1]: r[2] for r in summary.rows}
    cards = "".join(
        f"<div class='card'><b>{_fmt(values.get(k, 0))}</b>{escape(label)}</div>" for k, label in HEADLINES
    )
    return f"<h2>Headline numbers</h2><div class='cards'>{cards}</div>"


def _immigration(cs: Table) -> str:
    cols = ("component", "state", "requests", *_OUTCOMES)
    rows = [r for r in cs.rows if r[cs.columns.index("immigration_enforcement")] == 1]
    sel = _by_volume(_select(Table(cs.name, "", cs.columns, cs.counts, rows), *cols), 2)
    per_state: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for r in sel:
        for i, o in enumerate(("answered", "blocked", "answered_despite_policy")):
            per_state[str(r[1])][i] += _n(r[cols.index(o)])
    states = sorted(per_state, key=lambda s: (-sum(per_state[s]), s))[:25]
    chart = ""
    if states:
        series = {
            o.replace("_", " "): [per_state[s][i] for s in states]
            for i, o in enumerate(("answered", "blocked", "answered_despite_policy"))
        }
        chart = _img(
            charts.stacked_bars(
                "Immigration-enforcement requests by state: outcome", states, series, "responses"
            ),
            "immigration outcomes by state",
        )
    return (
        "<h2>Immigration-enforcement access by component and state</h2><p>Requests from agencies whose "
        "main job is immigration enforcement (ICE-ERO, HSI, CBP, USBP, or flagged in the agency "
        "registry), per destination state, and how the states answered.</p>" + chart + _table(cols, sel, 40)
    )


def _blocked_answered(so: Table) -> str:
    per: dict[str, dict[str, Cell]] = defaultdict(dict)
    for _m, state, outcome, n in so.rows:
        per[str(state)][str(outcome)] = n
    states = sorted(per, key=lambda s: (-sum(_n(v) for v in per[s].values()), s))
    rows = [(s, *(per[s].get(o, 0) for o in _OUTCOMES)) for s in states]
    chart = ""
    if states:
        top = states[:25]
        series = {o.replace("_", " "): [_n(per[s].get(o, 0)) for s in top] for o in _OUTCOMES[:3]}
        chart = _img(
            charts.stacked_bars(
                "Blocked vs answered, all requesters (top states)", top, series, "responses", horizontal=True
            ),
            "blocked vs answered by state",
        )
    return (
        "<h2>Blocked vs answered</h2><p>Responses by the state that answered, for every requesting "
        "agency.</p>" + chart + _table(("state", *_OUTCOMES), rows, 60)
    )


def _leaks(cs: Table) -> str:
    rows = [r for r in _select(cs, "component", "state", "answered_despite_policy") if r[2] != 0]
    text = (
        "<h2>Answered despite policy</h2><p>Responses that returned data although the destination "
        "state's policy says the requester should have been refused (decided by the monitor's policy "
        "pack). Each is a possible breach to review with the state's Nlets coordinator.</p>"
    )
    if not rows:
        return text + "<p><b>None this month.</b></p>"
    return text + _table(("component", "state", "answered_despite_policy"), _by_volume(rows, 2), 40)


def _photo_face(pf: Table) -> str:
    per: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for _m, comp, _st, *vals in pf.rows:
        for i, v in enumerate(vals):
            per[str(comp)][i] += _n(v)
    comps = sorted(per, key=lambda c: (-sum(per[c]), c))
    chart = ""
    if comps:
        series = {
            name: [per[c][i] for c in comps]
            for i, name in enumerate(("photo requests", "photos returned", "face searches"))
        }
        chart = _img(
            charts.stacked_bars(
                "Photo and face-match access by requester component",
                comps,
                series,
                "requests",
                horizontal=True,
            ),
            "photo and face access",
        )
    rows = _by_volume(
        _select(pf, "component", "state", "photo_requests", "photos_returned", "face_searches"), 2
    )
    return (
        "<h2>Photo and face-match access</h2><p>License-photo requests, photos returned and "
        "face-recognition searches against DMV photo galleries (component 'none' = non-federal).</p>"
        + chart
        + _table(("component", "state", "photo_requests", "photos_returned", "face_searches"), rows, 40)
    )


def _alerts(al: Table, ah: Table) -> str:
    return (
        "<h2>Alerts raised and how they were handled</h2><p>Alerts the monitor raised this month by "
        "detector and severity; acknowledged = a reviewer took ownership; mean time is from raising to "
        "acknowledgment.</p>"
        + _table(al.columns[1:], [r[1:] for r in al.rows])
        + _table(ah.columns[1:], [r[1:] for r in ah.rows])
    )


def _trend(month: str, trend: Sequence[tuple[str, dict[str, Cell]]]) -> str:
    keys = ("logical_queries", "immigration_requests", "blocked", "answered_despite_policy", "alerts_raised")
    rows = [(m, *(f.get(k, 0) for k in keys)) for m, f in trend]
    text = "<h2>Trend against previous months</h2>"
    if len(trend) < 2:
        return (
            text
            + f"<p>No earlier month is stored; {escape(month)} is the first.</p>"
            + _table(("month", *keys), rows)
        )
    months = [m for m, _ in trend]
    series = {k.replace("_", " "): [_n(f.get(k, 0)) for _, f in trend] for k in keys[1:]}
    chart = _img(
        charts.trend_lines("Immigration requests, blocks, leaks and alerts", months, series), "trend"
    )
    return text + chart + _table(("month", *keys), rows)


def _agencies(ag: Table) -> str:
    cols = (
        "ori",
        "category",
        "component",
        "query_events",
        "logical_queries",
        "answered",
        "blocked",
        "answered_despite_policy",
    )
    rows = _by_volume(_select(ag, *cols), 3)
    return (
        "<h2>Most active requesting agencies</h2><p>ORIs are public identifiers of agencies, not of "
        "people.</p>" + _table(cols, rows, 25)
    )


def render_report(
    month: str, tables: dict[str, Table], trend: Sequence[tuple[str, dict[str, Cell]]], public_k: int | None
) -> str:
    """The whole report as one HTML document (tables may already be suppressed)."""
    public = ""
    banner = ""
    if public_k is not None:
        public = (
            f"<li>Public release: counts from 1 to {public_k - 1} are shown as &lt;{public_k} and "
            "drawn as zero in charts; zeros are shown as 0.</li>"
        )
        banner = f"<p class='note'>Public release: small counts are shown as &lt;{public_k}.</p>"
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>DMV Query Watch: {month}</title>",
        f"<style>{CSS}</style></head><body><h1>DMV Query Watch: oversight report for {escape(month)}</h1>",
        banner,
        _headlines(tables["summary"]),
        _immigration(tables["component_state"]),
        _blocked_answered(tables["state_outcome"]),
        _leaks(tables["component_state"]),
        _photo_face(tables["photo_face"]),
        _alerts(tables["alerts"], tables["alert_handling"]),
        _trend(month, trend),
        _agencies(tables["agencies"]),
        METHOD.format(public=public),
        "</body></html>\n",
    ]
    return "\n".join(parts)
