"""s2s_misuse: S2S look-ups without an application, at a machine cadence, or far above own history."""

from __future__ import annotations

import itertools

from stream.detectors.s2s_misuse import S2sMisuse, cadence_cv
from stream.findings import iso
from tests.unit.detector_steps import build, drive, drive_with_restart, flat, signature
from tests.unit.factories import T0, make_agency, make_query

H = 3600.0
DMV = make_agency(ori="ORDMV0000", category="SA")
OTHER = make_agency(ori="IDDMV0000", category="SA")
# Irregular human gaps (seconds) for counter traffic; a script runs every 60 s exactly.
HUMAN_GAPS = [37, 410, 95, 1210, 12, 300, 66, 845, 150, 23, 510, 71, 240, 19, 660, 130, 88, 47, 380, 9]


def s2s(eid: str, ts: float, agency=DMV, app: bool = True, placeholder: bool = False):  # type: ignore[no-untyped-def]
    q = make_query(
        event_id=eid, ts=ts, agency=agency, source="s2s", message_key="S2S", destinations=("CA",),
        search_mode="ssn_last5", has_application=app, ssn_placeholder=placeholder,
    )  # fmt: skip
    return ("q", q)


def human(tag: str, start: float, n: int, agency=DMV, scale: float = 1.0):  # type: ignore[no-untyped-def]
    times = list(itertools.accumulate((g * scale for g in HUMAN_GAPS[: n - 1]), initial=start))
    return [s2s(f"{tag}{i}", t, agency) for i, t in enumerate(times)]


# Hour 0 [T0, T0+1h): ORDMV: 5 counter look-ups, one without an application (arrives first, and twice)
#                     IDDMV: 30 look-ups every 60 s, all with applications -> batch cadence
# Hours 1-3: ORDMV 2 look-ups per hour (history: mean 2.75 over 4 active hours, bar max(20, 10 x 2.75));
# hour 4: ORDMV 30 irregular look-ups -> volume spike
#   wm T0+1h -> ORDMV no_application, IDDMV batch_cadence ; wm T0+5h -> ORDMV volume_spike
NOAPP = s2s("x0", T0 + 100, app=False)
HOUR0 = [NOAPP, *human("h", T0 + 200, 4), NOAPP, *[s2s(f"b{i}", T0 + 60 * i, OTHER) for i in range(30)]]
HISTORY = [e for k in (1, 2, 3) for e in human(f"k{k}-", T0 + k * H + 60, 2)]
SPIKE = human("s", T0 + 4 * H, 20, scale=0.25) + human("t", T0 + 4 * H + 30, 10, scale=0.25)
STEPS = [*HOUR0, ("wm", T0 + H - 60), ("wm", T0 + H), *HISTORY, *SPIKE, ("wm", T0 + 5 * H)]


def test_timeline() -> None:
    out = drive(build(S2sMisuse), STEPS)
    at_h1 = {f.ori: f for f in out[len(HOUR0) + 1]}
    assert set(at_h1) == {"ORDMV0000", "IDDMV0000"}
    nd = at_h1["ORDMV0000"]
    assert nd.evidence["reasons"] == ["no_application"] and nd.evidence["count"] == 5
    assert nd.evidence["sample_no_application_ids"] == ["x0"] and nd.window_start == T0
    batch = at_h1["IDDMV0000"]
    assert batch.evidence["reasons"] == ["batch_cadence"] and batch.evidence["cadence_cv"] == 0.0
    (spike,) = out[-1]
    assert (spike.ori, spike.window_start, spike.severity) == ("ORDMV0000", T0 + 4 * H, "high")
    ev = spike.evidence
    assert ev["reasons"] == ["volume_spike"] and ev["count"] == 30
    assert (ev["baseline_mean"], ev["baseline_windows"], ev["volume_bar"]) == (2.75, 4, 27.5)
    assert sum(len(x) for x in out) == 3


def test_cadence_cv() -> None:
    assert cadence_cv([0, 60, 120, 180]) == 0.0
    assert cadence_cv([0, 1]) is None
    assert cadence_cv([0.0, *itertools.accumulate(HUMAN_GAPS)]) > 0.5  # type: ignore[operator]


def test_quiet_counter_traffic_raises_nothing() -> None:
    steps = [*human("a", T0, 20), *human("b", T0 + H, 20), ("wm", T0 + 3 * H)]
    assert flat(drive(build(S2sMisuse), steps)) == []


def test_same_findings_in_any_order_and_across_a_restart() -> None:
    close = [("wm", T0 + H)]
    base = signature(flat(drive(build(S2sMisuse), HOUR0 + close)))
    assert len(base) == 2
    for k in range(1, 8):
        perm = HOUR0[k:] + HOUR0[:k]
        perm = perm[::-1] if k % 2 else perm
        assert signature(flat(drive(build(S2sMisuse), perm + close))) == base
    for cut in (0, 3, 10, len(HOUR0)):
        assert signature(drive_with_restart(S2sMisuse, HOUR0 + close, cut)) == base


def test_findings_rederive_from_evidence() -> None:
    findings = flat(drive(build(S2sMisuse), STEPS))
    queries = [s[1] for s in STEPS if s[0] == "q"]
    assert findings
    for f in findings:
        ev, start = f.evidence, f.window_start
        inside = {q.event_id: q for q in queries if q.ori == f.ori and start <= q.ts < start + ev["window_s"]}
        assert ev["count"] == len(inside)
        missing = sum(not q.has_application for q in inside.values())
        assert ev["no_application"] == missing and ev["window_start"] == iso(start)
        if "no_application" in ev["reasons"]:
            assert missing >= ev["threshold"]
        if "batch_cadence" in ev["reasons"]:
            assert len(inside) >= ev["min_batch"]
            assert cadence_cv([q.ts for q in inside.values()]) <= ev["max_cadence_cv"]  # type: ignore[operator]
        if "volume_spike" in ev["reasons"]:
            counted = sum(not q.ssn_placeholder for q in inside.values())
            assert ev["volume_count"] == counted >= ev["volume_bar"]


# hours 1-3 as in the timeline (ORDMV ~2 an hour); hour 4: 30 irregular look-ups, 24 of them on the
# 99999 placeholder -> no volume_spike (6 ordinary look-ups; the placeholder run is sensitive_targeting's)
def test_placeholder_selections_are_not_counted_as_volume() -> None:
    times = [T0 + 4 * H + 30 + 90 * i + (i * 37) % 50 for i in range(30)]
    run = [s2s(f"p{i}", t, placeholder=i % 5 != 0) for i, t in enumerate(times)]
    history = [*HOUR0[1:5], *HISTORY]
    out = flat(drive(build(S2sMisuse), [*history, ("wm", T0 + H), *run, ("wm", T0 + 5 * H)]))
    assert [f for f in out if "volume_spike" in f.evidence["reasons"]] == []
    ordinary = [s2s(f"o{i}", t) for i, t in enumerate(times)]
    out = flat(drive(build(S2sMisuse), [*history, ("wm", T0 + H), *ordinary, ("wm", T0 + 5 * H)]))
    assert [f.evidence["reasons"] for f in out] == [["volume_spike"]]
