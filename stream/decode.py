"""Bytes -> validated, pseudonymized records, or a DecodeError with a bounded reason label.

The only place that sees clear-text identifiers: they are hashed here and dropped.
"""

from __future__ import annotations

import math
from datetime import datetime

import orjson
from pydantic import ValidationError

from stream.agencies import AgencyRegistry
from stream.contract import QueryIn, ResponseIn
from stream.errors import DecodeError
from stream.pseudonymize import Pseudonymizer
from stream.records import Query, Response

# Bounded set of dead-letter reasons: they become a metric label.
DLQ_REASONS: tuple[str, ...] = (
    "too_large",
    "invalid_utf8",
    "invalid_json",
    "not_an_object",
    "unknown_schema",
    "schema_violation",
    "timestamp_out_of_range",
    "internal_corrupt",  # an internal (repartition) record that cannot be read back
)

_MIN_TS = datetime(2000, 1, 1).timestamp()
_MAX_TS = datetime(2100, 1, 1).timestamp()


_HOUR_CACHE: dict[str, float] = {}


def parse_ts(value: str) -> float:
    """RFC 3339 (already validated) -> epoch seconds. Fast path for UTC 'Z' stamps: the hour prefix is
    parsed once and cached, minutes and seconds are sliced."""
    if len(value) >= 20 and value[-1] in "Zz" and value[13] == ":" and value[16] == ":":
        hour = _HOUR_CACHE.get(value[:13])
        if hour is None:
            if len(_HOUR_CACHE) > 100_000:
                _HOUR_CACHE.clear()
            hour = _HOUR_CACHE[value[:13]] = datetime.fromisoformat(value[:13] + ":00:00+00:00").timestamp()
        return hour + int(value[14:16]) * 60 + float(value[17:-1])
    return datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00")).timestamp()


class Decoder:
    def __init__(
        self,
        pseudonymizer: Pseudonymizer,
        registry: AgencyRegistry,
        max_bytes: int = 256 * 1024,
        max_future_s: float | None = None,
        previous_key_until: float | None = None,
    ) -> None:
        self._p = pseudonymizer
        self._prev_until = math.inf if previous_key_until is None else previous_key_until
        self._registry = registry
        self._max_bytes = max_bytes
        self._max_future_s = max_future_s

    def decode(self, raw: bytes, now: float | None = None) -> Query | Response:
        """Validate one message. `now` (wall clock) bounds how far in the future `ts` may be."""
        if len(raw) > self._max_bytes:
            raise DecodeError("too_large", f"{len(raw)} bytes > {self._max_bytes}")
        try:
            obj = orjson.loads(raw)  # orjson also rejects invalid UTF-8
        except orjson.JSONDecodeError as exc:
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as uexc:
                raise DecodeError("invalid_utf8", f"at byte {uexc.start}") from None
            raise DecodeError("invalid_json", str(exc)[:200]) from None
        if not isinstance(obj, dict):
            raise DecodeError("not_an_object", type(obj).__name__)
        kind = obj.get("schema")
        try:
            if kind == "dmvq.query.v1":
                event: Query | Response = self._query(QueryIn.model_validate(obj))
            elif kind == "dmvq.response.v1":
                event = self._response(ResponseIn.model_validate(obj))
            else:
                raise DecodeError("unknown_schema", repr(kind)[:80])
        except ValidationError as exc:
            raise DecodeError("schema_violation", _describe(exc)) from None
        if not _MIN_TS <= event.ts < _MAX_TS or (
            now is not None and self._max_future_s is not None and event.ts > now + self._max_future_s
        ):
            raise DecodeError("timestamp_out_of_range", f"ts={event.ts:.0f}")
        return event

    def _query(self, m: QueryIn) -> Query:
        s = m.search
        ts = parse_ts(m.ts)
        subject, previous = self._p.subject_keys(
            s.mode, s.subject_key, s.name, s.dob, s.oln, s.plate, with_previous=ts < self._prev_until
        )
        return Query(
            event_id=m.event_id,
            ts=ts,
            source=m.source,
            message_key=m.message_key,
            ori=m.originating_ori,
            agency=self._registry.resolve(m.originating_ori, m.agency),
            destinations=tuple(m.destinations),
            search_mode=s.mode,
            subject_key=subject,
            subject_key_prev=previous,
            pattern=s.pattern,
            operator_id=m.operator_id,
            parent_query_id=m.parent_query_id,
            purpose_code=m.purpose_code,
            reason_code=m.reason_code,
            has_case_number=bool(m.case_number and m.case_number.strip()),
            predicate=m.legal_predicate.type if m.legal_predicate else "none",
            image_requested=m.image_requested,
            ssn_placeholder=s.ssn_last5 == "99999",
            has_application=bool(m.in_person_application_id),
            origin_tz=m.origin_tz,
        )

    @staticmethod
    def _response(m: ResponseIn) -> Response:
        return Response(
            event_id=m.event_id,
            ts=parse_ts(m.ts),
            in_reply_to=m.in_reply_to,
            responding_state=m.responding_state,
            outcome=m.outcome,
            message_key=m.message_key,
            policy_rule_id=m.policy_rule_id,
            record_count=m.record_count,
            photo_returned=m.photo_returned,
            face_candidates=m.face_candidates,
            record_flags=tuple(m.record_flags),
            latency_ms=m.latency_ms,
        )


def _describe(exc: ValidationError) -> str:
    """Field paths and error types only: never echo input values (they may be personal data)."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:5]:
        loc = ".".join(str(x) for x in err["loc"])
        parts.append(f"{loc}: {err['type']}")
    return "; ".join(parts)[:500]
