"""Hypothesis strategies of hostile input messages (bytes), shared by the unit decoder test and the
integration abuse test: invalid UTF-8 and JSON, wrong types, missing and extra fields, enormous strings
and arrays, deep nesting, control characters, timestamps far in the past and future.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

BASE_QUERY: dict[str, Any] = {
    "schema": "dmvq.query.v1",
    "event_id": "q-hostile-0",
    "ts": "2026-10-05T10:00:00.000Z",
    "source": "nlets",
    "message_key": "RQ",
    "originating_ori": "OR0000001",
    "destinations": ["WA"],
    "search": {"mode": "plate", "subject_key": "s-1"},
}
BASE_RESPONSE: dict[str, Any] = {
    "schema": "dmvq.response.v1",
    "event_id": "r-hostile-0",
    "ts": "2026-10-05T10:00:01.000Z",
    "in_reply_to": "q-hostile-0",
    "responding_state": "WA",
    "outcome": "HIT",
}
FAR_TIMESTAMPS = (
    "0001-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "1999-12-31T23:59:59Z",
    "2100-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999Z",
    "2026-13-01T00:00:00Z",
    "2026-10-05T10:00:00",
    "",
)
CONTROL = st.text(alphabet=st.characters(codec="utf-8", categories=["Cc", "Cs", "Co", "Zl"]), max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _dumps(doc: Any) -> bytes:
    # stdlib json: big integers and lone surrogates (as \\u escapes) are part of the abuse
    return json.dumps(doc).encode()


@st.composite
def mutated_event(draw: st.DrawFn) -> bytes:
    """A valid event with one or two hostile edits."""
    doc = dict(draw(st.sampled_from([BASE_QUERY, BASE_RESPONSE])))
    doc["search"] = dict(doc["search"]) if "search" in doc else doc.get("search")
    doc = {k: v for k, v in doc.items() if v is not None}
    for _ in range(draw(st.integers(1, 2))):
        key = draw(st.sampled_from(sorted(doc)))
        edit = draw(st.sampled_from(["wrong_type", "missing", "extra", "huge", "control", "ts", "nested"]))
        if edit == "wrong_type":
            doc[key] = draw(json_values)
        elif edit == "missing":
            doc.pop(key, None)
        elif edit == "extra":
            doc[draw(st.text(min_size=1, max_size=12))] = draw(json_values)
        elif edit == "huge":
            n = draw(st.sampled_from([1_000, 10_000, 100_000]))
            doc[key] = "A" * n if draw(st.booleans()) else list(range(n // 10))
        elif edit == "control":
            doc[key] = draw(CONTROL)
        elif edit == "ts":
            doc["ts"] = draw(st.sampled_from(FAR_TIMESTAMPS))
        else:
            depth = draw(st.sampled_from([5, 50, 200]))
            doc[key] = _nest(depth)
    return _dumps(doc)


def _nest(depth: int) -> Any:
    value: Any = "x"
    for _ in range(min(depth, 200)):  # keeps generation cheap; deep_json goes further
        value = [value]
    return value


def deep_json(depth: int) -> bytes:
    """Nesting beyond any parser's comfort, built as bytes (orjson itself refuses to write it)."""
    return b'{"schema":"dmvq.query.v1","search":' + b"[" * depth + b"1" + b"]" * depth + b"}"


def hostile_message() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=200),  # mostly invalid UTF-8 / not JSON
        st.text(max_size=200).map(str.encode),  # valid UTF-8, rarely JSON
        json_values.map(_dumps),  # JSON, but not an event object
        mutated_event(),
        st.sampled_from([deep_json(100), deep_json(5000)]),
        st.sampled_from([b"", b"{}", b"[]", b"null", b'{"schema":null}', b"\xef\xbb\xbf{}", b"{" * 10]),
    )
