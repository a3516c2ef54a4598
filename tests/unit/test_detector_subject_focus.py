"""subject_focus: >= 5 logical queries on one subject by immigration-enforcement ORIs within 72 h."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from stream.detectors.subject_focus import SubjectFocus, SubjectFocusParams
from stream.findings import Finding
from stream.records import Agency, Query
from tests.unit.benign_traffic import DAY, Traffic, final_watermark, steps
from tests.unit.detector_steps import build, drive, drive_with_restart, flat, signature
from tests.unit.factories import T0, ice_agency, make_agency, make_query, make_response

H = 3600.0
ICE = ice_agency("XXSYNE001")
CBP = make_agency(ori="XXSYNC001", category="FE", component="CBP", immigration_enforcement=True)
HSI = make_agency(ori="XXSYNH001", category="FE", component="HSI")  # flagged by component only
PD = make_agency(ori="WA0340000")


def q(hour: float, agency: Agency, subject: str | None = "sk_a", **kw: object) -> Query:
    return make_query(ts=T0 + hour * H, agency=agency, subject_key=subject, **kw)


def test_burst_fires_once_an_hour_after_the_fifth_query() -> None:
    # hour:   0     10    20    30    40    50 51 52 53   73
    # ICE:    q1          q2          q3           q6
    # CBP:          q4                      q5
    # PD:                       x      (not immigration enforcement: ignored)
    #                                       ^ 5th query at 50.5 h; its hour is decided at 52 h, once
    #                                         answers (refusals) are in: one grace hour
    qs = [q(0.2, ICE), q(10, CBP), q(20, ICE), q(30, PD), q(40, ICE), q(50.5, CBP)]
    table = [*(("q", x) for x in qs), ("wm", T0 + 51 * H), ("wm", T0 + 52 * H), ("q", q(53, ICE)),
             ("wm", T0 + 73 * H), ("wm", T0 + 200 * H)]  # fmt: skip
    det = build(SubjectFocus)
    out = drive(det, table)
    assert [len(x) for x in out] == [0] * 7 + [1, 0, 0, 0]
    f = out[7][0]
    assert f.ori == "XXSYNE001" and f.group_key == "subject:sk_a"
    assert f.window_start == T0 and f.window_end == T0 + 50.5 * H
    assert f.evidence["queries"] == 5 and f.evidence["by_ori"] == {"XXSYNC001": 2, "XXSYNE001": 3}
    assert "sk_a" not in f.title
    assert det.state_size() == 0  # pruned once the span is over


def test_retries_of_a_refused_lookup_do_not_count() -> None:
    # hour:   0    0.1  0.2  0.3  0.4 0.5          | 1.0 | 2.0
    # ICE:    q    q    q    q    q   q  all refused (blocked_retry's business): one query counts
    # CBP:                                 q q q q      -> with the first ICE query: 5 -> fires
    det = build(SubjectFocus)
    table: list[tuple] = []
    for i in range(6):
        x = q(i * 0.1, ICE)
        table += [("q", x), ("r", make_response(x, outcome="BLOCKED_BY_POLICY"), x)]
    assert flat(drive(det, [*table, ("wm", T0 + 100 * H)])) == []
    cbp = [("q", q(0.6 + i * 0.05, CBP)) for i in range(4)]
    found = flat(drive(build(SubjectFocus), [*table, *cbp, ("wm", T0 + 100 * H)]))
    assert [f.evidence["by_ori"] for f in found] == [{"XXSYNC001": 4, "XXSYNE001": 1}]


@pytest.mark.parametrize(
    ("hours", "fires"),
    [
        ([0, 1, 2, 3], False),  # four look-ups (benign investigator) never fire
        ([0, 20, 40, 60, 80], False),  # five, but no 72 h span holds all five
        ([0, 20, 40, 60, 71.9], True),  # five within 72 h
        ([0, 0.1, 0.2, 0.3, 0.4], True),  # tight burst
    ],
)
def test_threshold_and_span(hours: list[float], fires: bool) -> None:
    agencies = [ICE, CBP, HSI]
    table = [("q", q(h, agencies[i % 3])) for i, h in enumerate(hours)] + [("wm", T0 + 300 * H)]
    assert bool(flat(drive(build(SubjectFocus), table))) is fires


def test_only_logical_immigration_queries_with_a_subject_count() -> None:
    table = [
        ("q", q(0, ICE)),
        ("q", q(1, ICE, first_of_logical=False, parent_query_id="p1")),  # MSQ child: counted via parent
        ("q", q(2, ICE, first_of_logical=False, parent_query_id="p1")),
        ("q", q(3, PD)),
        ("q", q(4, make_agency(ori="XXSYNF001", category="FE", component="FBI"))),
        ("q", q(5, ICE, subject=None)),
        ("q", q(6, CBP)),
        ("q", q(7, HSI)),
        ("wm", T0 + 300 * H),
    ]
    assert flat(drive(build(SubjectFocus), table)) == []
    more = [*table[:-1], ("q", q(8, ICE)), ("q", q(9, HSI)), ("wm", T0 + 300 * H)]
    assert len(flat(drive(build(SubjectFocus), more))) == 1


def test_late_event_is_ignored_and_counted() -> None:
    det = build(SubjectFocus)
    table = [
        *(("q", q(h, ICE)) for h in (10, 11, 12, 13)),
        ("wm", T0 + 20 * H),
        ("q", q(5, ICE)),
    ]  # 5 h: late
    assert flat(drive(det, [*table, ("wm", T0 + 300 * H)])) == []
    assert det.snapshot()["clock"]["late"] == 1


def test_second_burst_after_quiet_span_fires_again() -> None:
    hours = [0, 1, 2, 3, 4, 5, 6, 100, 101, 102, 103, 104]
    out = flat(drive(build(SubjectFocus), [*(("q", q(h, ICE)) for h in hours), ("wm", T0 + 400 * H)]))
    assert [f.window_start for f in out] == [T0, T0 + 100 * H]


def rederive(f: Finding, p: SubjectFocusParams) -> None:
    ev = f.evidence
    assert len(ev["event_ids"]) == len(ev["query_ts"]) == ev["queries"] == sum(ev["by_ori"].values())
    assert ev["queries"] >= p.min_queries
    assert max(ev["query_ts"]) - min(ev["query_ts"]) < p.window_hours * H
    assert f.ori == min(ev["by_ori"], key=lambda o: (-ev["by_ori"][o], o))
    assert f.window_start == (min(ev["query_ts"]) // H) * H


def injected() -> tuple[list, dict[str, str]]:
    """Benign background over 5 days plus three bursts (subject -> expected top ORI)."""
    pairs = list(Traffic(seed=11, days=5).queries())
    ice2 = ice_agency("XXSYNE777")
    spread = ((0, CBP), (20, HSI), (45, CBP), (60, ice2), (71, CBP))  # just under 72 h, 3 components
    multi = ((1, ice2), (2, ice2), (30, HSI), (31, ice2), (50, HSI))
    bursts = {
        "sk_burst_tight": [(1.3 * DAY + i * 600, ICE) for i in range(6)],
        "sk_burst_spread": [(2 * DAY + h * H, a) for h, a in spread],
        "sk_burst_multi": [(3 * DAY + h * H, a) for h, a in multi],
    }
    top = {"sk_burst_tight": ICE.ori, "sk_burst_spread": CBP.ori, "sk_burst_multi": ice2.ori}
    for subject, rows in bursts.items():
        pairs += [
            (make_query(ts=T0 + t, agency=a, subject_key=subject, destinations=("WA",)), []) for t, a in rows
        ]
    return pairs, top


def test_benign_background_is_quiet_and_injected_bursts_are_found() -> None:
    benign = list(Traffic(seed=11, days=5).queries())
    assert flat(drive(build(SubjectFocus), [*steps(benign), ("wm", final_watermark(benign))])) == []
    pairs, top = injected()
    det = build(SubjectFocus)
    found = flat(drive(det, [*steps(pairs), ("wm", final_watermark(pairs))]))
    assert {f.group_key: f.ori for f in found} == {f"subject:{s}": o for s, o in top.items()}
    for f in found:
        rederive(f, det.p)  # type: ignore[attr-defined]
        json.dumps(f.evidence)


def test_arrival_order_and_restart_do_not_change_findings() -> None:
    pairs, _ = injected()
    end = ("wm", final_watermark(pairs))
    base = signature(flat(drive(build(SubjectFocus), [*steps(pairs), end])))
    shuffled = [*steps(pairs, jitter=240.0, seed=3), end]
    assert signature(flat(drive(build(SubjectFocus), shuffled))) == base
    assert len(base) == 3
    in_order = [*steps(pairs), end]
    for cut in (len(in_order) // 3, len(in_order) // 2, 2 * len(in_order) // 3):
        assert signature(drive_with_restart(SubjectFocus, in_order, cut)) == base


def test_params_are_strict() -> None:
    with pytest.raises(ValidationError):
        SubjectFocusParams(min_querys=3)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        SubjectFocusParams(min_queries=1)
