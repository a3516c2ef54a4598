"""Decoder: the shared samples, dead-letter reasons, and clear text never surviving decode."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from stream.agencies import AgencyRegistry
from stream.codec import decode_event, encode_event
from stream.decode import DLQ_REASONS, Decoder
from stream.errors import DecodeError
from stream.pseudonymize import Pseudonymizer
from stream.records import Query

# A copy of ../shared/samples/events.jsonl (CI clones may not have ../shared); kept identical below.
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "events.jsonl"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "samples" / "events.jsonl"
KEY = b"unit-test-key-0123456789"


@pytest.fixture
def decoder() -> Decoder:
    return Decoder(Pseudonymizer(KEY), AgencyRegistry(), max_bytes=4096, max_future_s=600)


def test_sample_copy_matches_the_shared_contract_samples() -> None:
    if SHARED.exists():  # beside the project in a workspace checkout
        assert SAMPLES.read_bytes() == SHARED.read_bytes()


def test_shared_samples_good_lines_decode_and_bad_lines_have_reasons(decoder: Decoder) -> None:
    good, bad = [], []
    for line in SAMPLES.read_bytes().splitlines():
        try:
            good.append(decoder.decode(line))
        except DecodeError as exc:
            bad.append(exc.reason)
    assert len(good) == 10
    assert bad == ["invalid_json", "schema_violation"]


def test_clear_text_identifiers_are_pseudonymized_and_dropped(decoder: Decoder) -> None:
    line = next(x for x in SAMPLES.read_bytes().splitlines() if b"DOE,JANE" in x)
    q = decoder.decode(line)
    assert isinstance(q, Query) and q.subject_key and q.subject_key.startswith("sk_")
    blob = encode_event(q)
    assert b"DOE" not in blob and b"1990-02-03" not in blob
    again = decoder.decode(line)
    assert again.subject_key == q.subject_key  # keyed hash is stable: equality survives
    other = Decoder(Pseudonymizer(b"another-key-0123456789"), AgencyRegistry()).decode(line)
    assert other.subject_key != q.subject_key  # and depends on the key


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe{}", "invalid_utf8"),
        (b"{not json", "invalid_json"),
        (b"[1,2]", "not_an_object"),
        (b'{"schema":"dmvq.other.v9"}', "unknown_schema"),
        (b"x" * 5000, "too_large"),
        (
            b'{"schema":"dmvq.query.v1","event_id":"a","ts":"2026-10-05T14:02:11Z","source":"nlets",'
            b'"message_key":"RQ","originating_ori":"WA0170100","destinations":["OR"],'
            b'"search":{"mode":"plate"},"image_requested":"yes"}',
            "schema_violation",
        ),
        (
            b'{"schema":"dmvq.query.v1","event_id":"a","ts":"2026-10-05","source":"nlets",'
            b'"message_key":"RQ","originating_ori":"WA0170100","destinations":["OR"],"search":{"mode":"plate"}}',
            "schema_violation",
        ),
        (
            b'{"schema":"dmvq.query.v1","event_id":"a","ts":"2199-10-05T14:02:11Z","source":"nlets",'
            b'"message_key":"RQ","originating_ori":"WA0170100","destinations":["OR"],"search":{"mode":"plate"}}',
            "timestamp_out_of_range",
        ),
    ],
)
def test_bad_input_gets_a_bounded_reason(decoder: Decoder, raw: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as err:
        decoder.decode(raw)
    assert err.value.reason == reason and reason in DLQ_REASONS


def test_validation_errors_never_echo_input_values(decoder: Decoder) -> None:
    raw = orjson.dumps(
        {
            "schema": "dmvq.query.v1",
            "event_id": "a",
            "ts": "2026-10-05T14:02:11Z",
            "source": "nlets",
            "message_key": "RQ",
            "originating_ori": "WA0170100",
            "destinations": ["OR"],
            "search": {"mode": "plate", "name": 12345, "plate": ["SECRETPLATE"]},
        }
    )
    with pytest.raises(DecodeError) as err:
        decoder.decode(raw)
    assert "SECRETPLATE" not in str(err.value)


def test_future_timestamps_beyond_clock_skew_are_rejected_live(decoder: Decoder) -> None:
    raw = (
        b'{"schema":"dmvq.query.v1","event_id":"a","ts":"2026-10-05T14:30:00Z","source":"nlets",'
        b'"message_key":"RQ","originating_ori":"WA0170100","destinations":["OR"],"search":{"mode":"plate"}}'
    )
    now = decoder.decode(raw).ts - 3600  # the event claims to be an hour ahead of the wall clock
    with pytest.raises(DecodeError) as err:
        decoder.decode(raw, now=now)
    assert err.value.reason == "timestamp_out_of_range"


def test_internal_codec_round_trips(decoder: Decoder) -> None:
    events = [decoder.decode(x) for x in SAMPLES.read_bytes().splitlines()[:10]]
    for e in events:
        back, joined = decode_event(encode_event(e))
        assert back == e and joined is None
