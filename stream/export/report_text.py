"""Fixed text of the HTML report: style sheet, headline labels, methodology (kept apart from logic)."""

from __future__ import annotations

CSS = """body{font-family:'DejaVu Sans',Arial,sans-serif;max-width:980px;margin:2em auto;color:#222;
line-height:1.45;padding:0 1em}h1{font-size:1.6em}h2{border-bottom:2px solid #1b6ca8;padding-bottom:.2em;
margin-top:2em}table{border-collapse:collapse;margin:.8em 0;font-size:.9em}th,td{border:1px solid #ccc;
padding:.25em .6em;text-align:right}th{background:#eef3f8}td:first-child,th:first-child{text-align:left}
.cards{display:flex;flex-wrap:wrap;gap:.8em}.card{border:1px solid #ccc;border-radius:6px;padding:.6em 1em;
min-width:12em}.card b{display:block;font-size:1.5em}.note{color:#555;font-size:.9em}img{max-width:100%}"""

HEADLINES: tuple[tuple[str, str], ...] = (
    ("logical_queries", "DMV queries (logical, multi-state counted once)"),
    ("immigration_requests", "Requests by immigration-enforcement agencies (per state)"),
    ("immigration_answered", "... answered"),
    ("immigration_blocked", "... blocked by state policy"),
    ("answered_despite_policy", "Answered despite the state's policy (all agencies)"),
    ("photo_requests", "Queries asking for a license photo"),
    ("face_searches", "Face-recognition searches"),
    ("alerts_raised", "Alerts raised by the monitor"),
    ("alerts_acknowledged", "Alerts acknowledged by a reviewer"),
)

METHOD = """<h2>Methodology</h2><ul>
<li>Source: query and response events seen by the monitor's taps (Nlets, state switches, AAMVA S2S,
face-recognition services). Redelivered events are counted once (by event id).</li>
<li>Month: the UTC calendar month of each event's own time stamp; alerts by the start of their window.</li>
<li><i>Logical queries</i> count a multi-state query once; <i>requests</i> count each destination state
(the per-state copies of a multi-state query count under their state, the broadcast itself under NL).</li>
<li>Outcomes: answered (HIT, MULTI_HIT), not on file, blocked (BLOCKED_BY_POLICY), answered despite policy
(answered although the destination state's rules, per the monitor's policy pack, forbid it), other
(unavailable, rejected, status messages). A response whose query was never seen counts under UNKNOWN.</li>
<li>Immigration-enforcement agencies: components ICE-ERO, HSI, CBP, USBP, or agencies flagged in the
agency registry.</li>
<li>No personal data: counts only; no names, licence numbers, plates, subjects or operators.</li>
{public}
<li>Integrity: every file of this export is listed with its SHA-256 in manifest.json, which is signed
(HMAC-SHA256); <code>dmvwatch export verify DIR</code> checks it.
Column meanings: docs/export-columns.md.</li>
</ul>"""
