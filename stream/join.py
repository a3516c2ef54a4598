"""Joins responses to their queries within a bounded window of event time, in either arrival order.

A response whose query is not seen within the window is released on its own (`query=None`): it is
still counted and still usable by detectors that need only the response.
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

    def __len__(self) -> int:
        return len(self._queries) + len(self._waiting)

    def add_query(self, q: Query) -> list[Pair]:
        self._queries[q.event_id] = q
        waiting = self._waiting.pop(q.event_id, None)
        return [(r, q) for r in waiting] if waiting else []

    def add_response(self, r: Response) -> list[Pair]:
        q = self._queries.get(r.in_reply_to)
        if q is not None:
            return [(r, q)]
        self._waiting.setdefault(r.in_reply_to, []).append(r)
        return []

    def expire(self, watermark: float) -> Iterator[Pair]:
        """Drop queries older than the window; release responses that waited the whole window."""
        cutoff = watermark - self.window_s
        queries = self._queries
        while queries:
            oldest = next(iter(queries))
            if queries[oldest].ts >= cutoff:
                break
            del queries[oldest]
        if self._waiting:
            expired = [k for k, rs in self._waiting.items() if rs[0].ts < cutoff]
            for key in sorted(expired, key=lambda k: (self._waiting[k][0].ts, k)):
                for r in self._waiting.pop(key):
                    yield r, None

    def snapshot(self) -> dict[str, Any]:
        return {
            "queries": [query_to_dict(q) for q in self._queries.values()],
            "waiting": [response_to_dict(r) for rs in self._waiting.values() for r in rs],
        }

    def restore(self, state: dict[str, Any]) -> None:
        self._queries = OrderedDict()
        for d in state.get("queries", []):
            q = query_from_dict(d)
            self._queries[q.event_id] = q
        self._waiting = {}
        for d in state.get("waiting", []):
            r = response_from_dict(d)
            self._waiting.setdefault(r.in_reply_to, []).append(r)
