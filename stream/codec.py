"""Private records <-> JSON bytes, for internal topics and checkpoints.

Records hold no clear-text personal data (see stream/records.py), so they may travel between workers
and sit in checkpoints. The encoding is compact and versioned by a leading tag.
"""

from __future__ import annotations

from typing import Any

import orjson

from stream.records import Agency, Query, Response

_AGENCY_CACHE: dict[tuple[Any, ...], Agency] = {}
_QUERY_FIELDS = tuple(f for f in Query.__slots__ if not f.startswith("_"))  # type: ignore[attr-defined]


def query_to_dict(q: Query) -> dict[str, Any]:
    d = {f: getattr(q, f) for f in _QUERY_FIELDS}
    a = q.agency
    d["agency"] = [a.ori, a.category, a.component, a.parent_org, a.immigration_enforcement, a.known]
    return d


def query_from_dict(d: dict[str, Any]) -> Query:
    key = tuple(d["agency"])
    agency = _AGENCY_CACHE.get(key)
    if agency is None:
        if len(_AGENCY_CACHE) > 200_000:
            _AGENCY_CACHE.clear()
        agency = _AGENCY_CACHE[key] = Agency(*key)
    fields = dict(d)
    fields["agency"] = agency
    fields["destinations"] = tuple(d["destinations"])
    return Query(**fields)


def response_to_dict(r: Response) -> dict[str, Any]:
    return {f: getattr(r, f) for f in Response.__slots__}  # type: ignore[attr-defined]


def response_from_dict(d: dict[str, Any]) -> Response:
    fields = dict(d)
    fields["record_flags"] = tuple(d.get("record_flags") or ())
    return Response(**fields)


def encode_event(event: Query | Response, joined: Query | None = None) -> bytes:
    """One internal message: a query, or a response with the query it was joined to (if any)."""
    if isinstance(event, Query):
        return orjson.dumps({"k": "q", "q": query_to_dict(event)})
    body: dict[str, Any] = {"k": "r", "r": response_to_dict(event)}
    if joined is not None:
        body["q"] = query_to_dict(joined)
    return orjson.dumps(body)


def decode_event(raw: bytes) -> tuple[Query | Response, Query | None]:
    body = orjson.loads(raw)
    if body["k"] == "q":
        return query_from_dict(body["q"]), None
    joined = query_from_dict(body["q"]) if "q" in body else None
    return response_from_dict(body["r"]), joined
