"""Joins responses to their queries within a bounded window of event time, in either arrival order.

A response whose query is not seen within the window is released on its own (`query=None`): it is
still counted and still usable by detectors that need only the response.

A query is let go as soon as every destination state it names has answered (ACK_ONLY does not count):
the contract gives one response per destination state, so nothing more can join it. Only queries to
`NL` (all states), `AX` or an ORI wait out the window. Without this the join held every query of the
last `window_s` (600 s at 2,000 events/s is 600k queries: most of the worker's memory and checkpoint).
A response beyond that count (outside the contract) is released unjoined at the window's end.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from stream.codec import query_from_dict, query_to_dict, response_from_dict, response_to_dict
from stream.records import Query, Response

Pair = tuple[Response, Query | None]


class ResponseJoin:
    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._queries: OrderedDict[str, Query] = OrderedDict()  # front pops stay O(1)
        self._waiting: dict[str, list[Response]] = {}
        self._left: dict[str, int] = {}  # query id -> answers still expected (known counts only)

    def __len__(self) -> int:
        return len(self._queries) + len(self._waiting)

    def add_query(self, q: Query) -> list[Pair]:
        self._queries[q.event_id] = q
        expected = expected_answers(q)
        if expected:
            self._left[q.event_id] = expected
        waiting = self._waiting.pop(q.event_id, None)
        if not waiting:
            return []
        for r in waiting:
            self._answered(q.event_id, r)
        return [(r, q) for r in waiting]

    def add_response(self, r: Response) -> list[Pair]:
        q = self._queries.get(r.in_reply_to)
        if q is not None:
            self._answered(r.in_reply_to, r)
            return [(r, q)]
        self._waiting.setdefault(r.in_reply_to, []).append(r)
        return []

    def _answered(self, query_id: str, r: Response) -> None:
        left = self._left.get(query_id)
        if left is None or r.outcome == "ACK_ONLY":
            return
        if left > 1:
            self._left[query_id] = left - 1
            return
        del self._left[query_id]
        self._queries.pop(query_id, None)

    def expire(self, watermark: float) -> Iterator[Pair]:
        """Drop queries older than the window; release responses that waited the whole window."""
        cutoff = watermark - self.window_s
        queries = self._queries
        while queries:
            oldest = next(iter(queries))
            if queries[oldest].ts >= cutoff:
                break
            del queries[oldest]
            self._left.pop(oldest, None)
        if self._waiting:
            expired = [k for k, rs in self._waiting.items() if rs[0].ts < cutoff]
            for key in sorted(expired, key=lambda k: (self._waiting[k][0].ts, k)):
                for r in self._waiting.pop(key):
                    yield r, None

    def snapshot(self) -> dict[str, Any]:
        return {
            "queries": [query_to_dict(q) for q in self._queries.values()],
            "waiting": [response_to_dict(r) for rs in self._waiting.values() for r in rs],
            # only partly answered queries: the others are back at their full count on restore
            "left": {k: n for k, n in self._left.items() if n != expected_answers(self._queries[k])},
        }

    def restore(self, state: dict[str, Any]) -> None:
        self._queries = OrderedDict()
        self._left = {}
        for d in state.get("queries", []):
            q = query_from_dict(d)
            self._queries[q.event_id] = q
            if expected := expected_answers(q):
                self._left[q.event_id] = expected
        for k, n in state.get("left", {}).items():
            if k in self._left:
                self._left[k] = int(n)
        self._waiting = {}
        for d in state.get("waiting", []):
            r = response_from_dict(d)
            self._waiting.setdefault(r.in_reply_to, []).append(r)


def expected_answers(q: Query) -> int:
    """Responses a query can get: one per destination state; 0 (unknown) when it also goes to NL, AX
    (the IAQ desk, which acknowledges first) or an ORI address."""
    states = q.state_destinations
    return len(set(states)) if len(states) == len(q.destinations) else 0
