"""photo_face_match: restricted photo/face requests, photo harvesting, face-search bursts."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import pytest
from pydantic import ValidationError

from stream.detectors._rarity import binom_sf, poisson_sf
from stream.detectors.base import DetectorContext
from stream.detectors.photo_face_match import PhotoFaceMatch, PhotoFaceMatchParams
from stream.findings import Finding
from stream.records import Agency, Query, Response
from tests.unit.benign_traffic import DAY, Traffic, final_watermark, steps
from tests.unit.detector_steps import build, drive, flat, signature
from tests.unit.factories import T0, ice_agency, make_agency, make_query, make_response

H = 3600.0
ICE = ice_agency("XXSYNE001")
PD = make_agency(ori="NY0010000")


@dataclass(frozen=True)
class FakeRules:
    """The brief's duck-typed state rules: restricted requesters, ban flags."""

    face_recognition_ban: bool = True
    photo_ban: bool = True
    switch_blocks: bool = True

    def restricts(self, agency: Agency, ts: float) -> bool:
        return agency.immigration_enforcement


class FakePolicy:
    def __init__(self, **states: FakeRules) -> None:
        self.states = states

    def state(self, code: str) -> FakeRules | None:
        return self.states.get(code)


def fake() -> PhotoFaceMatch:
    det = PhotoFaceMatch(PhotoFaceMatchParams(), DetectorContext(policy=FakePolicy(NY=FakeRules())))
    return det


def photo(hour: float, agency: Agency, state: str = "NY", **kw: object) -> Query:
    return make_query(ts=T0 + hour * H, agency=agency, message_key="DQ", search_mode="oln",
                      image_requested=True, destinations=(state,), **kw)  # fmt: skip


def face(hour: float, agency: Agency, state: str = "NY") -> Query:
    return make_query(ts=T0 + hour * H, agency=agency, source="face", message_key="FRS",
                      search_mode="face_image", destinations=(state,))  # fmt: skip


def test_restricted_requests_fire_once_per_ori_state_hour() -> None:
    # hour:        0.1  0.5  0.9 |  1.2        | 2
    # ICE -> NY:   P    P        |  F   F      |        P = photo request, F = face search
    # ICE -> TX:             P   |             |        (TX has no rules)
    # PD  -> NY:   P             |             |        (not restricted)
    #              -> boundary 1 h: one high finding; boundary 2 h: one critical finding
    p1, p2 = photo(0.1, ICE), photo(0.5, ICE)
    table = [
        ("q", p1), ("q", photo(0.1, PD)), ("q", p2), ("q", photo(0.9, ICE, "TX")),
        ("r", make_response(p1, photo_returned=True), p1),
        ("q", face(1.2, ICE)), ("q", face(1.3, ICE)), ("wm", T0 + 1 * H), ("wm", T0 + 2 * H),
        ("wm", T0 + 3 * H),
    ]  # fmt: skip
    out = drive(fake(), table)
    assert [len(x) for x in out] == [0] * 7 + [1, 1, 0]
    high, crit = out[7][0], out[8][0]
    assert (high.severity, high.ori, high.destination_state, high.window_start) == ("high", ICE.ori, "NY", T0)
    assert high.evidence["photo_requests"] == 2 and high.evidence["photos_returned"] == 1
    assert sorted(high.evidence["event_ids"]) == sorted([p1.event_id, p2.event_id])
    assert (crit.severity, crit.window_start, crit.evidence["face_searches"]) == ("critical", T0 + H, 2)
    assert high.group_key == crit.group_key == f"restricted|{ICE.ori}|NY"
    assert high.alert_id("v") != crit.alert_id("v")


def test_real_policy_rules_and_judicial_predicate() -> None:
    table = [
        ("q", photo(0.1, ICE)),  # NY photo ban, no predicate -> finding with the rule id
        ("q", photo(0.2, ice_agency("XXSYNE002"), predicate="judicial_warrant")),  # accepted predicate
        ("q", photo(0.3, ICE, "TX")),
        ("wm", T0 + 2 * H),
    ]
    found = flat(drive(build(PhotoFaceMatch), table))
    assert [(f.ori, f.destination_state) for f in found] == [(ICE.ori, "NY")]
    assert found[0].policy_rule_id and found[0].policy_rule_id.startswith("NY-")


def harvest(pairs: list, ori_agency: Agency, start_day: float, per_day: int, days: int) -> None:
    """Extra photo-requesting DQs from one ORI, spread over working hours."""
    for d in range(days):
        for i in range(per_day):
            ts = T0 + (start_day + d) * DAY + 9 * H + i * (9 * H / per_day)
            q = make_query(ts=ts, agency=ori_agency, message_key="DQ", search_mode="oln",
                           image_requested=True, subject_key=f"sk_h{d}_{i}")  # fmt: skip
            pairs.append((q, [make_response(q, photo_returned=True)]))


def burst(pairs: list, agency: Agency, at: float, n: int, minutes: float) -> None:
    for i in range(n):
        q = make_query(ts=T0 + at + i * minutes * 60, agency=agency, source="face", message_key="FRS",
                       search_mode="face_image", subject_key=f"sk_f{at}_{i}")  # fmt: skip
        pairs.append((q, [make_response(q, face_candidates=3)]))


def scenario() -> tuple[list[tuple[Query, list[Response]]], dict[str, str]]:
    """Benign background, plus: a PD harvesting photos from day 2, a PD harvesting from the first hours
    (no history yet), a federal ORI's face-search burst on day 3, a PD's first-ever face burst."""
    tr = Traffic(seed=21, days=5)
    pairs = list(tr.queries())
    fbi = tr.agencies["XXSYNF002"]
    harvest(pairs, tr.agencies["WA00000PD"], 2, 20, 2)  # subtle: about 45% vs 10%
    harvest(pairs, tr.agencies["TX00001SO"], 0, 40, 1)  # from the start, during warm-up
    burst(pairs, fbi, 3 * DAY + 10 * H + 1800, 30, 4)  # across an hour edge
    burst(pairs, tr.agencies["OR00002SA"], 4 * DAY + 15 * H, 25, 2)
    expected = {
        "photo_share|WA00000PD": "WA00000PD",
        "photo_share|TX00001SO": "TX00001SO",
        "face_burst|XXSYNF002": "XXSYNF002",
        "face_burst|OR00002SA": "OR00002SA",
    }
    return pairs, expected


def rederive(f: Finding) -> None:
    ev = f.evidence
    if ev["test"] == "photo_share":
        assert ev["share"] == pytest.approx(ev["photo_requests"] / ev["eligible_queries"], abs=1e-4)
        assert binom_sf(ev["photo_requests"], ev["eligible_queries"], ev["reference_share"]) == pytest.approx(
            ev["p_value"], rel=1e-2
        )
        assert (
            math.log(ev["share"] / (1 - ev["share"]))
            > math.log(3) + math.log(ev["peer_median_share"] / (1 - ev["peer_median_share"])) - 0.05
        )
    else:
        assert poisson_sf(ev["face_searches"], ev["expected"]) == pytest.approx(ev["p_value"], rel=1e-2)
        assert ev["face_searches"] >= 4 * ev["expected"]
    assert ev["p_value"] < ev["alpha"]


def test_benign_background_is_quiet_and_injected_patterns_are_found() -> None:
    benign = list(Traffic(seed=21, days=5).queries())
    assert flat(drive(build(PhotoFaceMatch), [*steps(benign), ("wm", final_watermark(benign))])) == []
    pairs, expected = scenario()
    found = flat(drive(build(PhotoFaceMatch), [*steps(pairs), ("wm", final_watermark(pairs))]))
    assert {f.group_key: f.ori for f in found} == expected
    assert len(found) == len(expected)
    for f in found:
        rederive(f)
        json.dumps(f.evidence)
    fbi = next(f for f in found if f.ori == "XXSYNF002")
    assert fbi.evidence["candidates_returned"] > 0


def test_arrival_order_and_restart_do_not_change_findings() -> None:
    pairs, _ = scenario()
    end = ("wm", final_watermark(pairs))
    in_order = [*steps(pairs), end]
    base = signature(flat(drive(build(PhotoFaceMatch), in_order)))
    assert len(base) == 4
    assert signature(flat(drive(build(PhotoFaceMatch), [*steps(pairs, jitter=240.0, seed=4), end]))) == base
    cut = len(in_order) // 2
    first = build(PhotoFaceMatch)
    out = flat(drive(first, in_order[:cut]))
    second = build(PhotoFaceMatch)
    second.restore(json.loads(json.dumps(first.snapshot())))
    assert signature(out + flat(drive(second, in_order[cut:]))) == base


def test_params_are_strict() -> None:
    with pytest.raises(ValidationError):
        PhotoFaceMatchParams(min_photos=3)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        PhotoFaceMatchParams(min_odds_ratio=0.5)
