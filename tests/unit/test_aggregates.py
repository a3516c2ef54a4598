"""MonthlyAggregator: counts on hand-built events (multi-state families, leaks, unmatched responses)."""

from __future__ import annotations

from stream.aggregates import MonthlyAggregator, merge_into, month_of
from stream.findings import Alert
from tests.unit.factories import T0, ice_agency, make_agency, make_query, make_response

MONTH = month_of(T0)  # 2026-03


def _detail(counters: dict[str, int]) -> dict[str, int]:
    """Counters without the `s|` month totals (tested on their own)."""
    return {k: v for k, v in counters.items() if not k.startswith("s|")}


def _family(agg: MonthlyAggregator, parent_first: bool = True) -> None:
    """An ICE multi-state DQ: parent to NL plus children to WA, OR, NY (photo requested)."""
    ice = ice_agency()
    parent = make_query(
        agency=ice, event_id="P1", destinations=("NL",), message_key="DQ", image_requested=True
    )
    kids = [
        make_query(
            agency=ice,
            event_id=f"P1-{s}",
            destinations=(s,),
            message_key="DQ",
            parent_query_id="P1",
            image_requested=True,
        )
        for s in ("WA", "OR", "NY")
    ]
    order = [parent, *kids] if parent_first else [*kids, parent]
    for i, q in enumerate(order):
        q.first_of_logical = i == 0  # what the pipeline sets: only the first seen of the family
        agg.on_query(q)


def test_multi_state_family_is_one_logical_query_and_one_request_per_state() -> None:
    agg = MonthlyAggregator()
    _family(agg)
    c = agg.drain()[MONTH]
    logical = {k: v for k, v in c.items() if k.startswith("l|")}
    assert logical == {"l|XXSYN0001|ICE-ERO|DQ|1|0": 1}
    for dest in ("NL", "WA", "OR", "NY"):
        assert c[f"q|XXSYN0001|ICE-ERO|{dest}|DQ"] == 1
        assert c[f"p|XXSYN0001|ICE-ERO|{dest}"] == 1
    assert c["a|XXSYN0001|FE|ICE-ERO|1"] == 4
    assert (c["s|logical_queries"], c["s|immigration_requests"]) == (1, 3)  # the NL broadcast is not a state


def test_child_seen_before_parent_still_counts_the_family_once() -> None:
    agg = MonthlyAggregator()
    _family(agg, parent_first=False)
    c = agg.drain()[MONTH]
    assert sum(v for k, v in c.items() if k.startswith("l|")) == 1


def test_outcomes_join_the_query_and_leak_wins_over_answered() -> None:
    agg = MonthlyAggregator()
    ice = ice_agency()
    q_wa = make_query(agency=ice, destinations=("WA",))
    q_ny = make_query(agency=ice, destinations=("NY",))
    agg.on_response(make_response(q_wa, outcome="HIT"), q_wa, leak=True)
    agg.on_response(make_response(q_wa, outcome="MULTI_HIT"), q_wa, leak=False)
    agg.on_response(make_response(q_ny, outcome="BLOCKED_BY_POLICY"), q_ny, leak=False)
    agg.on_response(make_response(q_ny, outcome="NOT_ON_FILE"), q_ny, leak=False)
    agg.on_response(make_response(q_ny, outcome="SM_02", photo_returned=True), q_ny, leak=False)
    c = agg.drain()[MONTH]
    assert (c["s|events"], c["s|blocked"], c["s|answered_despite_policy"]) == (5, 1, 1)
    assert _detail(c) == {
        "o|XXSYN0001|ICE-ERO|WA|answered_despite_policy": 1,
        "o|XXSYN0001|ICE-ERO|WA|answered": 1,
        "o|XXSYN0001|ICE-ERO|NY|blocked": 1,
        "o|XXSYN0001|ICE-ERO|NY|not_on_file": 1,
        "o|XXSYN0001|ICE-ERO|NY|other": 1,
        "pr|XXSYN0001|ICE-ERO|NY": 1,
    }


def test_unmatched_response_counts_under_unknown() -> None:
    agg = MonthlyAggregator()
    agg.on_response(make_response(None, responding_state="OR", outcome="HIT"), None, leak=False)
    assert _detail(agg.drain()[MONTH]) == {"o|UNKNOWN|none|OR|answered": 1}


def test_month_is_the_utc_month_of_event_time_and_drain_resets() -> None:
    agg = MonthlyAggregator()
    end_of_october = 1_793_491_199.0  # 2026-10-31T23:59:59Z
    agg.on_query(make_query(ts=end_of_october))
    agg.on_query(make_query(ts=end_of_october + 1))
    delta = agg.drain()
    assert sorted(delta) == ["2026-10", "2026-11"]
    assert delta["2026-10"]["q|WA0340000|none|WA|RQ"] == 1
    assert agg.drain() == {}
    assert not agg.pending()


def test_face_search_and_destination_ori_collapse_to_state() -> None:
    agg = MonthlyAggregator()
    agency = make_agency(ori="XXSYN0002", category="FE", component="HSI", immigration_enforcement=True)
    agg.on_query(
        make_query(
            agency=agency,
            source="face",
            message_key="FRS",
            search_mode="face_image",
            destinations=("WADOL0000",),
        )
    )
    c = agg.drain()[MONTH]
    assert c["f|XXSYN0002|HSI|WA"] == 1
    assert c["l|XXSYN0002|HSI|FRS|0|1"] == 1


def _alert(alert_id: str, detector: str = "policy_leak", status: str = "firing") -> Alert:
    return Alert(
        alert_id=alert_id,
        detector=detector,
        severity="high",
        ori="XXSYN0001",
        window_start="2026-03-02T00:00:00.000Z",
        window_end="2026-03-02T01:00:00.000Z",
        title="t",
        evidence={},
        status=status,
    )  # type: ignore[arg-type]


def test_alerts_counted_once_per_id_and_ack_times_summed() -> None:
    agg = MonthlyAggregator()
    agg.on_alert(_alert("a1"))
    agg.on_alert(_alert("a1"))  # re-sent after a repeat interval: still one alert
    agg.on_alert(_alert("a2", status="silenced"))
    agg.on_ack("a1", "policy_leak", "2026-03", 90.4)
    agg.on_ack("a3", "policy_leak", "2026-03", 30.0)
    assert agg.drain() == {
        "2026-03": {
            "s|alerts_raised": 2,
            "al|policy_leak|high|firing": 1,
            "al|policy_leak|high|silenced": 1,
            "ak|policy_leak|n": 2,
            "ak|policy_leak|s": 120,
        }
    }


def test_merge_into_adds_deltas() -> None:
    total = {"2026-03": {"x": 1}}
    merge_into(total, {"2026-03": {"x": 2, "y": 1}, "2026-04": {"x": 5}})
    assert total == {"2026-03": {"x": 3, "y": 1}, "2026-04": {"x": 5}}
