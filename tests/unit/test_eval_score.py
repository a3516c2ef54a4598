"""Scoring of alerts against labels (stream.eval_score): hand-made alerts and labels on one timeline."""

from __future__ import annotations

from stream.eval_score import AlertRow, Label, Score, epoch, matches, ratio, score

# label sweep  ORI A  bulk_sweep        |====10:00-11:00====|
# alert        ORI A  bulk_sweep              |10:30-11:30|           hit
# alert        ORI A  bulk_sweep                                 |12:30-13:00|  hit within 2h slack only
# alert        ORI B  bulk_sweep              |10:30-11:30|           false (background ORI)
# alert        ORI A  agency_spike            |10:00-11:00|           false (collateral: scenario ORI)
# label silence ORI -  feed_silence      |==10:00-10:20==|         matched on time alone
H = 3600.0
T0 = epoch("2026-10-02T00:00:00Z")


def at(hours: float) -> float:
    return T0 + hours * H


SWEEP = Label("sweep", "bulk_sweep", "distinct_subjects", "bulk_sweep", "AAAAAAAAA", at(10), at(11))
SILENCE = Label("outage", "feed_silence", "default", "feed_silence", None, at(10), at(10 + 1 / 3))
SUBST = Label(
    "subst", "agency_substitution", "cbp", "agency_substitution", "CCCCCCCCC", at(20), at(30),
    also_expected=("policy_violation",), related_ori="IIIIIIIII",
)  # fmt: skip


def test_epoch_parses_rfc3339_with_z() -> None:
    assert epoch("2026-10-02T01:00:00.500Z") == T0 + 3600.5


def test_overlap_and_slack() -> None:
    inside = AlertRow("bulk_sweep", "AAAAAAAAA", at(10.5), at(11.5))
    late = AlertRow("bulk_sweep", "AAAAAAAAA", at(12.5), at(13))
    assert matches(inside, SWEEP, slack_s=0)
    assert not matches(late, SWEEP, slack_s=H)
    assert matches(late, SWEEP, slack_s=2 * H)


def test_detector_and_ori_must_match() -> None:
    assert not matches(AlertRow("bulk_sweep", "BBBBBBBBB", at(10), at(11)), SWEEP, H)
    assert not matches(AlertRow("agency_spike", "AAAAAAAAA", at(10), at(11)), SWEEP, H)


def test_feed_silence_matches_on_time_alone() -> None:
    assert matches(AlertRow("feed_silence", None, at(10.1), at(10.3)), SILENCE, 0)
    assert not matches(AlertRow("feed_silence", None, at(14), at(14.2)), SILENCE, H)


def test_recall_precision_and_false_alert_kinds() -> None:
    alerts = [
        AlertRow("bulk_sweep", "AAAAAAAAA", at(10.5), at(11.5)),
        AlertRow("bulk_sweep", "AAAAAAAAA", at(10.9), at(11.9)),  # a second alert on the same label
        AlertRow("bulk_sweep", "BBBBBBBBB", at(10.5), at(11.5)),
        AlertRow("agency_spike", "AAAAAAAAA", at(10), at(11)),
    ]
    s = score(alerts, [SWEEP, SILENCE], slack_s=H)
    sweep = s.det("bulk_sweep")
    assert (sweep.labels, sweep.found) == (1, 1)
    assert (sweep.alerts, sweep.hits, sweep.false_background, sweep.false_collateral) == (3, 2, 1, 0)
    spike = s.det("agency_spike")
    assert (spike.labels, spike.alerts, spike.false_collateral, spike.false_background) == (0, 1, 1, 0)
    assert s.det("feed_silence").found == 0 and s.missed == [SILENCE]
    assert s.variants[("bulk_sweep", "bulk_sweep", "distinct_subjects")] == [1, 1]
    assert s.variants[("feed_silence", "feed_silence", "default")] == [1, 0]
    assert len(s.false_alerts) == 2


def test_also_expected_counts_for_precision_not_recall() -> None:
    violation = AlertRow("policy_violation", "IIIIIIIII", at(21), at(22))  # the blocked ICE-ERO query
    s = score([violation], [SUBST], slack_s=H)
    assert s.det("policy_violation").hits == 1 and s.det("policy_violation").false == 0
    assert s.det("agency_substitution").found == 0  # the substitution itself was not found
    elsewhere = AlertRow("policy_violation", "IIIIIIIII", at(40), at(41))
    assert score([elsewhere], [SUBST], slack_s=H).det("policy_violation").false_collateral == 1


def test_scores_of_seeds_add_up() -> None:
    one = score([AlertRow("bulk_sweep", "AAAAAAAAA", at(10), at(11))], [SWEEP], H)
    two = score([], [SWEEP], H)
    total = Score()
    total.add(one)
    total.add(two)
    d = total.det("bulk_sweep")
    assert (d.labels, d.found, d.alerts, d.hits) == (2, 1, 1, 1)
    assert total.variants[("bulk_sweep", "bulk_sweep", "distinct_subjects")] == [2, 1]
    assert total.missed == [SWEEP]


def test_ratio_is_none_without_denominator() -> None:
    assert ratio(0, 0) is None
    assert ratio(3, 4) == 0.75
