"""The monthly HTML report for readers who are not engineers: headline numbers, tables, charts, method.

Self-contained (inline CSS, charts as base64 PNG), no personal data (agency ORIs are public identifiers
of agencies; no subject, operator or record attribute appears), no timestamp other than the month.
Built from the unsuppressed tables so totals are right; in public-release mode every displayed count
from 1 to k-1 is shown as "<k" and drawn (and ranked) as zero.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from html import escape

from stream.export import charts
from stream.export.report_text import CSS, HEADLINES, METHOD
from stream.export.summary import TREND_METRICS
from stream.export.tables import Cell, Table, suppress

_OUTCOMES = ("answered", "blocked", "answered_despite_policy", "not_on_file", "other")
_SHOWN = ("answered", "blocked", "answered_despite_policy")
TOP = 20


def _img(b64: str, alt: str) -> str:
    return f"<img alt='{escape(alt)}' src='data:image/png;base64,{b64}'>"


def _select(t: Table, *cols: str) -> list[tuple[Cell, ...]]:
    idx = [t.columns.index(c) for c in cols]
    return [tuple(r[i] for i in idx) for r in t.rows]


def _label(name: str) -> str:
    return name.replace("_", " ")


class _Report:
    def __init__(self, public_k: int | None) -> None:
        self.k = public_k

    def hidden(self, cell: Cell) -> bool:
        return self.k is not None and isinstance(cell, int) and 0 < cell < self.k

    def num(self, cell: Cell) -> float:
        """Value for charts and ranking: suppressed and text cells count as zero."""
        if self.hidden(cell) or not isinstance(cell, int | float):
            return 0.0
        return float(cell)

    def cell(self, cell: Cell) -> str:
        if self.hidden(cell):
            return f"&lt;{self.k}"
        return f"{cell:,}" if isinstance(cell, int) else escape(str(cell))

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[Cell]], limit: int | None = None) -> str:
        shown = rows if limit is None else rows[:limit]
        head = "".join(f"<th>{escape(_label(c))}</th>" for c in columns)
        body = "".join("<tr>" + "".join(f"<td>{self.cell(c)}</td>" for c in r) + "</tr>" for r in shown)
        more = ""
        if limit is not None and len(rows) > limit:
            more = f"<p class='note'>Largest {limit} of {len(rows):,} rows; CSV/JSON files have them all.</p>"
        return f"<table><tr>{head}</tr>{body}</table>{more}"

    def by_volume(self, rows: Sequence[tuple[Cell, ...]], col: int) -> list[tuple[Cell, ...]]:
        """Largest first, ties by the row's text: a stable order that ranks suppressed cells as zero."""
        return sorted(rows, key=lambda r: (-self.num(r[col]), tuple(str(c) for c in r)))

    def headlines(self, summary: Table) -> str:
        values = {r[1]: r[2] for r in summary.rows}
        cards = "".join(
            f"<div class='card'><b>{self.cell(values.get(k, 0))}</b>{escape(text)}</div>"
            for k, text in HEADLINES
        )
        return f"<h2>Headline numbers</h2><div class='cards'>{cards}</div>"

    def immigration(self, cs: Table) -> str:
        cols = ("component", "state", "requests", *_OUTCOMES)
        flag = cs.columns.index("immigration_enforcement")
        rows = _select(Table(cs.name, "", cs.columns, cs.counts, [r for r in cs.rows if r[flag] == 1]), *cols)
        per_comp: dict[str, list[int]] = defaultdict(lambda: [0] * 6)
        per_state: dict[str, list[float]] = defaultdict(lambda: [0.0] * 3)
        for r in rows:
            for i, v in enumerate(r[2:]):
                per_comp[str(r[0])][i] += int(v)
            for i, o in enumerate(_SHOWN):
                per_state[str(r[1])][i] += float(r[cols.index(o)])
        text = (
            "<h2>Immigration-enforcement access by component and state</h2><p>Requests from agencies whose "
            "main job is immigration enforcement (ICE-ERO, HSI, CBP, USBP, or flagged in the agency "
            "registry), counted per destination state, and how the states answered.</p>"
        )
        if not rows:
            return text + "<p><b>No such requests this month.</b></p>"
        comp_rows = self.by_volume([(c, *v) for c, v in sorted(per_comp.items())], 1)
        states = sorted(per_state, key=lambda s: (-sum(self.num(int(v)) for v in per_state[s]), s))[:25]
        series = {_label(o): [self.num(int(per_state[s][i])) for s in states] for i, o in enumerate(_SHOWN)}
        chart = charts.stacked_bars(
            "Immigration-enforcement requests: outcome by state", states, series, "responses"
        )
        return (
            text
            + self.table(("component", "requests", *_OUTCOMES), comp_rows)
            + _img(chart, "immigration-enforcement outcomes by state")
            + self.table(cols, self.by_volume(rows, 2), TOP)
        )

    def blocked_answered(self, so: Table) -> str:
        per: dict[str, dict[str, Cell]] = defaultdict(dict)
        for _m, state, outcome, n in so.rows:
            per[str(state)][str(outcome)] = n
        states = sorted(per, key=lambda s: (-sum(self.num(v) for v in per[s].values()), s))
        rows = [(s, *(per[s].get(o, 0) for o in _OUTCOMES)) for s in states]
        out = "<h2>Blocked vs answered</h2><p>Responses by the state that answered, for every requester.</p>"
        if states:
            top = states[:25]
            series = {_label(o): [self.num(per[s].get(o, 0)) for s in top] for o in _SHOWN}
            chart = charts.stacked_bars("Blocked vs answered, all requesters", top, series, "responses", True)
            out += _img(chart, "blocked vs answered by state")
        return out + self.table(("state", *_OUTCOMES), rows)

    def leaks(self, cs: Table) -> str:
        rows = [r for r in _select(cs, "component", "state", "answered_despite_policy") if r[2] != 0]
        text = (
            "<h2>Answered despite policy</h2><p>Responses that returned data although the destination "
            "state's policy says the requester should have been refused (decided by the monitor's policy "
            "pack). Each is a possible breach to review with the state's Nlets coordinator.</p>"
        )
        if not rows:
            return text + "<p><b>None this month.</b></p>"
        return text + self.table(
            ("component", "state", "answered_despite_policy"), self.by_volume(rows, 2), TOP
        )

    def photo_face(self, pf: Table) -> str:
        names = ("photo_requests", "photos_returned", "face_searches")
        per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for _m, comp, _st, *vals in pf.rows:
            for i, v in enumerate(vals):
                per[str(comp)][i] += int(v)
        comps = sorted(per, key=lambda c: (-sum(self.num(v) for v in per[c]), c))
        out = (
            "<h2>Photo and face-match access</h2><p>License-photo requests, photos returned and "
            "face-recognition searches against DMV photo galleries ('none' = non-federal agencies).</p>"
        )
        if comps:
            series = {_label(n): [self.num(per[c][i]) for c in comps] for i, n in enumerate(names)}
            chart = charts.grouped_bars(
                "Photo and face-match access by requester component", comps, series, "count"
            )
            out += _img(chart, "photo and face access") + self.table(
                ("component", *names), self.by_volume([(c, *per[c]) for c in comps], 1)
            )
        rows = self.by_volume(_select(pf, "component", "state", *names), 2)
        return out + self.table(("component", "state", *names), rows, TOP)

    def alerts(self, al: Table, ah: Table) -> str:
        if self.k is not None:
            ah = suppress(ah, self.k)  # also blanks ack times derived from a suppressed count
        return (
            "<h2>Alerts raised and how they were handled</h2><p>Alerts the monitor raised this month by "
            "detector and severity; acknowledged = a reviewer took ownership; mean time is from raising to "
            "acknowledgment, in seconds.</p>"
            + self.table(al.columns[1:], [r[1:] for r in al.rows])
            + self.table(ah.columns[1:], [r[1:] for r in ah.rows])
        )

    def trend(self, month: str, trend: Sequence[tuple[str, dict[str, int]]]) -> str:
        keys = TREND_METRICS
        rows: list[tuple[Cell, ...]] = [(m, *(f.get(k, 0) for k in keys)) for m, f in trend]
        text = "<h2>Trend against previous months</h2>"
        if len(trend) < 2:
            return (
                text
                + f"<p>No earlier month is stored; {escape(month)} is the first.</p>"
                + self.table(("month", *keys), rows)
            )
        series = {_label(k): [self.num(f.get(k, 0)) for _, f in trend] for k in keys[1:]}
        chart = charts.trend_lines(
            "Immigration requests, blocks, leaks and alerts", [m for m, _ in trend], series
        )
        return text + _img(chart, "trend") + self.table(("month", *keys), rows)

    def agencies(self, ag: Table) -> str:
        cols = ("ori", "category", "component", "query_events", "logical_queries", *_SHOWN)
        return (
            "<h2>Most active requesting agencies</h2><p>ORIs are public identifiers of agencies, not of "
            "people.</p>" + self.table(cols, self.by_volume(_select(ag, *cols), 3), TOP)
        )


def render_report(
    month: str, tables: dict[str, Table], trend: Sequence[tuple[str, dict[str, int]]], public_k: int | None
) -> str:
    """The whole report as one HTML document, from unsuppressed tables; `public_k` masks small counts."""
    r = _Report(public_k)
    public = banner = ""
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
        r.headlines(tables["summary"]),
        r.immigration(tables["component_state"]),
        r.blocked_answered(tables["state_outcome"]),
        r.leaks(tables["component_state"]),
        r.photo_face(tables["photo_face"]),
        r.alerts(tables["alerts"], tables["alert_handling"]),
        r.trend(month, trend),
        r.agencies(tables["agencies"]),
        METHOD.format(public=public),
        "</body></html>\n",
    ]
    return "\n".join(parts)
