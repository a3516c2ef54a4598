"""Silences and inhibition (pure), webhook signatures, Alertmanager payloads and retry backoff."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from stream.alerting.cli import parse_duration
from stream.alerting.mute import Silence, inhibited_by, mute_decision, silence_state, silenced_by
from stream.alerting.outbox import Backoff
from stream.alerting.receivers import am_alert, sign, verify
from stream.settings import AlertSettings

RULES = AlertSettings().inhibit_rules  # type: ignore[call-arg]
VIOLATION = {"detector": "policy_violation", "severity": "high", "ori": "XXSYN0001", "state": "WA"}
LEAK = {"detector": "policy_leak", "severity": "critical", "ori": "XXSYN0001", "state": "WA"}


def _silence(start: float = 100.0, end: float = 200.0, **matchers: str) -> Silence:
    return Silence(matchers=matchers, author="a", comment="c", starts_at=start, ends_at=end, created_at=0.0)


@pytest.mark.parametrize(
    ("now", "state", "mutes"),
    [(99.9, "pending", False), (100.0, "active", True), (199.9, "active", True), (200.0, "expired", False)],
)
def test_silence_timeline(now: float, state: str, mutes: bool) -> None:
    sil = _silence(ori="XXSYN0001")
    assert silence_state(sil, now) == state
    assert (silenced_by(VIOLATION, [sil], now) is not None) is mutes


def test_silence_needs_every_matcher() -> None:
    assert silenced_by(VIOLATION, [_silence(ori="XXSYN0001", state="NY")], 150.0) is None
    assert silenced_by(VIOLATION, [_silence(ori="XXSYN0001", state="WA")], 150.0) is not None


def test_invalid_silences_are_refused() -> None:
    with pytest.raises(ValidationError):
        _silence()  # no matcher
    with pytest.raises(ValidationError):
        _silence(operator="op-1")  # not a matchable label
    with pytest.raises(ValidationError):
        _silence(200.0, 100.0, ori="XXSYN0001")


@pytest.mark.parametrize(
    ("target", "sources", "inhibited"),
    [
        (VIOLATION, [LEAK], True),
        (VIOLATION, [{**LEAK, "state": "OR"}], False),  # other state
        (VIOLATION, [{**LEAK, "ori": "XXSYN0002"}], False),  # other agency
        (VIOLATION, [], False),
        (LEAK, [LEAK], False),  # a leak never mutes itself
        ({**VIOLATION, "detector": "bulk_sweep"}, [LEAK], False),  # not a target of the rule
    ],
)
def test_default_inhibition(target: dict[str, str], sources: list[dict[str, str]], inhibited: bool) -> None:
    assert (inhibited_by(target, sources, RULES) is not None) is inhibited


def test_silence_wins_over_inhibition() -> None:
    d = mute_decision(VIOLATION, 150.0, [_silence(ori="XXSYN0001")], [LEAK], RULES)
    assert d is not None and (d.stage, d.reason) == ("silence", "silenced")
    d = mute_decision(VIOLATION, 250.0, [_silence(ori="XXSYN0001")], [LEAK], RULES)
    assert d is not None and (d.stage, d.reason, d.detail) == ("inhibit", "inhibited", "leak_mutes_violation")


def test_signature_round_trip_and_tamper() -> None:
    body = b'{"alerts":[]}'
    sig = sign(b"k", "1000", body)
    assert sig.startswith("sha256=") and len(sig) == 7 + 64
    assert verify(b"k", "1000", body, sig, now=1100.0)
    assert not verify(b"k", "1000", body + b" ", sig, now=1100.0)
    assert not verify(b"other", "1000", body, sig, now=1100.0)
    assert not verify(b"k", "1000", body, sig, now=1000.0 + 301)  # stale timestamp: replay refused


def test_alertmanager_payload() -> None:
    doc = {
        "alert_id": "abc",
        "detector": "feed_silence",
        "severity": "warning",
        "ori": None,
        "destination_state": None,
        "title": "Feed silent",
        "summary": "",
        "runbook": "rb/feed_silence.md",
        "raised_at": "2026-03-02T00:00:00.000Z",
    }
    am = am_alert(doc)
    assert am["labels"] == {
        "alertname": "dmvwatch_feed_silence",
        "detector": "feed_silence",
        "severity": "warning",
    }
    assert am["annotations"] == {
        "title": "Feed silent",
        "summary": "Feed silent",
        "runbook": "rb/feed_silence.md",
        "alert_id": "abc",
    }
    assert am["startsAt"] == "2026-03-02T00:00:00.000Z"


def test_backoff_doubles_and_caps() -> None:
    b = Backoff(1.0, 300.0)
    assert [b.delay(n) for n in (1, 2, 3, 9, 10, 20)] == [1.0, 2.0, 4.0, 256.0, 300.0, 300.0]


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("30m", 1800), ("2h", 7200), ("1h30m", 5400), ("1d", 86400)]
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_parse_duration_rejects_garbage() -> None:
    import typer

    with pytest.raises(typer.BadParameter):
        parse_duration("2 hours")
