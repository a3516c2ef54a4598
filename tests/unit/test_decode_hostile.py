"""Decoder under hostile input (hypothesis): it raises nothing but DecodeError, with a reason from the
bounded DLQ_REASONS set and a bounded detail that never echoes the input's clear-text values."""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream.agencies import AgencyRegistry
from stream.decode import DLQ_REASONS, Decoder
from stream.errors import DecodeError
from stream.pseudonymize import Pseudonymizer
from stream.records import Query, Response
from tests.unit.hostile import BASE_QUERY, hostile_message

DECODER = Decoder(Pseudonymizer(b"unit-test-key-0123456789"), AgencyRegistry(), max_future_s=600)
NOW = 1_790_000_000.0  # 2026-09: BASE_QUERY's ts is within the future skew of it


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(hostile_message())
def test_decoder_raises_only_decode_errors_with_bounded_reasons(raw: bytes) -> None:
    try:
        event = DECODER.decode(raw, NOW)
    except DecodeError as exc:
        assert exc.reason in DLQ_REASONS
        assert len(exc.detail) <= 500
        return
    assert isinstance(event, Query | Response)  # a mutation may leave an event valid


@settings(max_examples=150, deadline=None)
@given(name=st.text(min_size=6, max_size=40).filter(lambda s: s.strip() and '"' not in s))
def test_rejection_details_never_echo_clear_text(name: str) -> None:
    # a marker no field path or error type contains (a bare "schema" would match the reason label)
    name = "CLR~" + name
    doc = {**BASE_QUERY, "search": {"mode": "name", "name": name, "dob": 12345}}
    try:
        DECODER.decode(orjson.dumps(doc), NOW)
    except DecodeError as exc:
        assert name not in exc.detail and name not in str(exc)
        return
    raise AssertionError("a numeric dob must be rejected")


def test_too_large_wins_before_parsing() -> None:
    raw = b'{"schema":"dmvq.query.v1","x":"' + b"A" * (300 * 1024) + b'"}'
    try:
        DECODER.decode(raw, NOW)
    except DecodeError as exc:
        assert exc.reason == "too_large"
    else:
        raise AssertionError("a 300 KiB message must be dead-lettered")
