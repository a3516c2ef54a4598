"""Pure alert stages as tables of timed steps (no Redis, no clock: `now` is an argument).

Grouping timeline with Alertmanager defaults (group_wait 30s, group_interval 5m, repeat 4h):

    t:   0     10     30          100      330          330+4h
         A     B      flush{A,B}  C joins  flush{A,B,C}  repeat{A,B,C}
"""

from __future__ import annotations

import pytest

from stream.alerting.stages import (
    Decision,
    GroupState,
    NotifyEntry,
    Timing,
    add_to_group,
    alert_labels,
    dedup,
    flush,
    group_decision,
    group_key,
    next_flush,
)
from stream.findings import Finding, to_alert

T = Timing()  # 30 / 300 / 14400
H4 = 14_400.0


@pytest.mark.parametrize(
    ("entry", "now", "expected"),
    [
        (None, 0.0, None),  # never seen: first notification goes ahead
        (NotifyEntry(admitted_at=0.0), 5.0, Decision("dedup", "deduplicated")),  # waiting in its group
        (NotifyEntry(0.0, notified_at=30.0), 100.0, Decision("dedup", "repeat_interval", 30.0 + H4)),
        (NotifyEntry(0.0, notified_at=30.0), 30.0 + H4 - 1, Decision("dedup", "repeat_interval", 30.0 + H4)),
        (NotifyEntry(0.0, notified_at=30.0), 30.0 + H4, Decision("dedup", "deduplicated")),
    ],
)
def test_dedup_table(entry: NotifyEntry | None, now: float, expected: Decision | None) -> None:
    assert dedup(entry, now, T) == expected


def test_group_timeline() -> None:
    # (at, joining alert or None, expected reason, expected sent ids when delivered)
    steps: list[tuple[float, str | None, str, list[str]]] = [
        (0.0, "A", "grouped_wait", []),
        (10.0, "B", "grouped_wait", []),
        (29.9, None, "grouped_wait", []),
        (30.0, None, "delivered", ["A", "B"]),
        (100.0, "C", "grouped_wait", []),  # next flush at 30 + group_interval = 330
        (329.0, None, "grouped_wait", []),
        (330.0, None, "delivered", ["A", "B", "C"]),
        (331.0, None, "repeat_interval", []),
        (330.0 + H4 - 1, None, "repeat_interval", []),
        (330.0 + H4, None, "delivered", ["A", "B", "C"]),
    ]
    group: GroupState | None = None
    for at, joining, reason, sent in steps:
        if joining is not None:
            group = add_to_group(group, "k", joining, at)
        assert group is not None
        decision = group_decision(group, at, T)
        assert decision.reason == reason, at
        if decision.passed:
            group, ids = flush(group, at, firing={"A", "B", "C"})
            assert ids == sent, at


def test_flush_drops_alerts_no_longer_firing_and_empty_group_ends() -> None:
    group = GroupState("k", first_seen=0.0, last_flush=30.0, pending=["C"], notified=["A", "B"])
    after, sent = flush(group, 330.0, firing={"B", "C"})
    assert sent == ["B", "C"] and after.notified == ["B", "C"] and after.pending == []
    after, sent = flush(after, 330.0 + H4, firing=set())
    assert sent == [] and next_flush(after, T) is None


def test_zero_group_wait_delivers_at_once() -> None:
    group = add_to_group(None, "k", "A", 50.0)
    assert group_decision(group, 50.0, Timing(0.0, 300.0, H4)).passed


def test_labels_and_group_key_from_alert() -> None:
    finding = Finding(
        detector="policy_violation",
        severity="critical",
        ori="XXSYN0001",
        group_key="g",
        window_start=0.0,
        window_end=60.0,
        title="t",
        evidence={},
        destination_state="NY",
    )
    labels = alert_labels(to_alert(finding, "v1", None))
    assert labels == {
        "alertname": "dmvwatch_policy_violation",
        "detector": "policy_violation",
        "severity": "critical",
        "ori": "XXSYN0001",
        "state": "NY",
    }
    assert group_key(labels) == "detector=policy_violation,ori=XXSYN0001,state=NY"
    silent = to_alert(Finding("feed_silence", "warning", None, "feed", 0.0, 60.0, "t", {}), "v1", None)
    assert "ori" not in alert_labels(silent) and "state" not in alert_labels(silent)
