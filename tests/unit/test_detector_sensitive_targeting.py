"""sensitive_targeting: 99999-placeholder S2S look-ups and no-SSN-flagged answers far above baseline."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from stream.detectors._rarity import binom_sf, poisson_sf
from stream.detectors.sensitive_targeting import SensitiveTargeting, SensitiveTargetingParams
from stream.findings import Finding
from stream.records import Agency, Query, Response
from tests.unit.benign_traffic import DAY, Traffic, final_watermark, steps
from tests.unit.detector_steps import build, drive, drive_with_restart, flat, signature
from tests.unit.factories import T0, make_agency, make_query, make_response

H = 3600.0


def s2s(ts: float, agency: Agency, placeholder: bool, state: str = "CA") -> Query:
    return make_query(ts=ts, agency=agency, source="s2s", message_key="S2S", search_mode="ssn_last5",
                      destinations=(state,), ssn_placeholder=placeholder, has_application=True)  # fmt: skip


def answered(ts: float, agency: Agency, state: str, flagged: bool) -> list[tuple]:
    q = make_query(ts=ts, agency=agency, message_key="DQ", search_mode="oln", destinations=(state,))
    r = make_response(q, record_flags=("undocumented_eligible_license",) if flagged else ())
    return [("q", q), ("r", r, q)]


def dmv_day(day: int, n_oris: int = 10, per_ori: int = 100, every: int = 50) -> list[tuple]:
    """Ordinary DMV S2S traffic: one look-up in `every` uses the 99999 placeholder."""
    out = []
    for o in range(n_oris):
        dmv = make_agency(ori=f"TXDMV{o:04d}", category="NJ")
        out += [("q", s2s(T0 + day * DAY + i * 600, dmv, i % every == 0, "TX")) for i in range(per_ori)]
    return out


def test_placeholder_selection_fires_at_day_close() -> None:
    # day:        0 ........................................ | 1 00:00     | 2
    # TX DMVs:    10 ORIs x 100 S2S, 2% on 99999
    # XXSYNE001:  30 S2S, 20 on 99999  (67% vs 2%)          -> fires here
    # TXDMV0999:  30 S2S, 2 on 99999   (7%: 5-floor not met) -> silent
    ice = make_agency(ori="XXSYNE001", category="FE", component="ICE-ERO", immigration_enforcement=True)
    odd = make_agency(ori="TXDMV0999", category="NJ")
    table = [
        *dmv_day(0),
        *(("q", s2s(T0 + 9 * H + i * 60, ice, i < 20, "TX")) for i in range(30)),
        *(("q", s2s(T0 + 10 * H + i * 60, odd, i < 2, "TX")) for i in range(30)),
        ("wm", T0 + DAY - 60), ("wm", T0 + DAY), ("wm", T0 + 2 * DAY),
    ]  # fmt: skip
    out = drive(build(SensitiveTargeting), table)
    assert [len(x) for x in out[-3:]] == [0, 1, 0]
    f = out[-2][0]
    assert (f.ori, f.group_key, f.window_start, f.window_end) == (
        ice.ori,
        "s2s_placeholder|XXSYNE001",
        T0,
        T0 + DAY,
    )
    assert f.evidence["placeholder_lookups"] == 20 and f.evidence["s2s_lookups"] == 30
    # no other "XX"-home requester: the pool is every other S2S requester, TXDMV0999 included
    assert f.evidence["peer_share"] == pytest.approx((20 + 2) / (1000 + 30), abs=1e-6)


def test_flagged_records_use_the_issuing_state_rate() -> None:
    # day 0: 20 ordinary PDs get 100 CA records each (6% flagged) and 100 TX records (0.5% flagged).
    #   CA0777000 asks CA only: 8/100 flagged (ordinary for CA)  -> silent
    #   TX0555000 asks CA only: 40/100 flagged                   -> fires
    #   TX0666000 asks TX only: 4/100 (8x TX, but below 8 floor) -> silent
    table: list[tuple] = []
    for o in range(20):
        pd = make_agency(ori=f"WA{o:04d}000")
        for i in range(100):
            table += answered(T0 + i * 300, pd, "CA", i % 50 < 3)
            table += answered(T0 + i * 300 + 1, pd, "TX", i % 200 == 0)
    for ori, state, flagged in (("CA0777000", "CA", 8), ("TX0555000", "CA", 40), ("TX0666000", "TX", 4)):
        table += [
            s for i in range(100) for s in answered(T0 + H + i * 60, make_agency(ori=ori), state, i < flagged)
        ]
    table.append(("wm", T0 + DAY))
    found = flat(drive(build(SensitiveTargeting), table))
    assert [f.group_key for f in found] == ["flagged_records|TX0555000"]
    ev = found[0].evidence
    assert ev["flagged_records"] == 40 and ev["expected"] == pytest.approx(6.0, rel=0.05)
    assert ev["by_state"] == {"CA": [100, 40]}


# day 0: 20 PDs get 100 CA records each (0.25% flagged); CA's own S2S pointer ORI looks up 300 applicants
# in other states, 4% on the 99999 placeholder, every one answered with a no-SSN record
#   -> silent: those answers are what the selection asks for ((a) judges the selection itself)
# the same 12 flagged answers to ordinary (non-placeholder) DQ look-ups on CA -> flagged_records
@pytest.mark.parametrize("placeholder", [True, False])
def test_placeholder_selected_answers_are_not_flagged_record_targeting(placeholder: bool) -> None:
    table: list[tuple] = []
    for o in range(20):
        pd = make_agency(ori=f"WA{o:04d}000")
        table += [s for i in range(100) for s in answered(T0 + i * 300, pd, "CA", i == 0 and o % 4 == 0)]
    dmv = make_agency(ori="CA0000S2S", category="NJ")
    for i in range(300):
        sel = i % 25 == 0  # 12 of 300
        if placeholder:
            q = s2s(T0 + H + i * 60, dmv, sel, "CA")
        else:
            q = make_query(ts=T0 + H + i * 60, agency=dmv, message_key="DQ", destinations=("CA",))
        table += [("q", q), ("r", make_response(q, record_flags=("no_ssn",) if sel else ()), q)]
    table.append(("wm", T0 + DAY))
    found = [f.group_key for f in flat(drive(build(SensitiveTargeting), table))]
    assert found == ([] if placeholder else ["flagged_records|CA0000S2S"])


def test_unanswered_and_unjoined_responses_do_not_count() -> None:
    pd = make_agency(ori="TX0555000")
    q = make_query(ts=T0, agency=pd, destinations=("CA",))
    det = build(SensitiveTargeting)
    steps_ = [("r", make_response(q, outcome="NOT_ON_FILE", record_flags=("no_ssn",)), q),
              ("r", make_response(q, record_flags=("no_ssn",)), None)]  # fmt: skip
    drive(det, steps_)
    assert det.state_size() == 0


def rederive(f: Finding) -> None:
    ev = f.evidence
    if ev["test"] == "s2s_placeholder":
        ref = ev["reference_share"]
        assert ev["share"] == pytest.approx(ev["placeholder_lookups"] / ev["s2s_lookups"], abs=1e-4)
        assert ev["share"] >= ev["ratio_threshold"] * ref
        assert binom_sf(ev["placeholder_lookups"], ev["s2s_lookups"], ref) == pytest.approx(
            ev["p_value"], rel=1e-2
        )
    else:
        assert sum(v[0] for v in ev["by_state"].values()) == ev["answered_records"]
        assert sum(v[1] for v in ev["by_state"].values()) == ev["flagged_records"]
        assert ev["flagged_records"] >= ev["ratio_threshold"] * ev["expected"]
        assert poisson_sf(ev["flagged_records"], ev["expected"]) == pytest.approx(ev["p_value"], rel=1e-2)
    assert ev["p_value"] < ev["alpha"]


def scenario() -> list[tuple[Query, list[Response]]]:
    """Benign background (CA DMVs legitimately see 25% placeholders), plus an ICE ORI selecting on
    99999 through S2S on day 2, and a TX sheriff whose CA answers are 45% AB 60 licenses on day 3."""
    tr = Traffic(seed=31, days=5)
    pairs = list(tr.queries())
    ice = tr.agencies["XXSYNI002"]
    for i in range(24):
        q = s2s(T0 + 2 * DAY + 8 * H + i * 900, ice, i % 4 != 0)
        pairs.append((q, []))
    so = tr.agencies["TX00004SO"]
    for i in range(60):
        ts = T0 + 3 * DAY + 9 * H + i * 400
        q = make_query(ts=ts, agency=so, message_key="DQ", search_mode="name_dob_sex",
                       destinations=("CA",), subject_key=f"sk_t{i}")  # fmt: skip
        pairs.append((q, [make_response(q, record_flags=("no_ssn",) if i % 20 < 9 else ())]))
    return pairs


def test_benign_background_is_quiet_and_injected_patterns_are_found() -> None:
    benign = list(Traffic(seed=31, days=5).queries())
    assert flat(drive(build(SensitiveTargeting), [*steps(benign), ("wm", final_watermark(benign))])) == []
    pairs = scenario()
    found = flat(drive(build(SensitiveTargeting), [*steps(pairs), ("wm", final_watermark(pairs))]))
    assert sorted((f.group_key, f.window_start) for f in found) == [
        ("flagged_records|TX00004SO", T0 + 3 * DAY),
        ("s2s_placeholder|XXSYNI002", T0 + 2 * DAY),
    ]
    for f in found:
        rederive(f)
        json.dumps(f.evidence)


def test_arrival_order_and_restart_do_not_change_findings() -> None:
    pairs = scenario()
    end = ("wm", final_watermark(pairs))
    in_order = [*steps(pairs), end]
    base = signature(flat(drive(build(SensitiveTargeting), in_order)))
    assert len(base) == 2
    assert (
        signature(flat(drive(build(SensitiveTargeting), [*steps(pairs, jitter=240.0, seed=2), end]))) == base
    )
    for cut in (len(in_order) // 3, 3 * len(in_order) // 4):
        assert signature(drive_with_restart(SensitiveTargeting, in_order, cut)) == base


def test_params_are_strict() -> None:
    with pytest.raises(ValidationError):
        SensitiveTargetingParams(min_flags=3)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        SensitiveTargetingParams(alpha=2)
