"""Where monthly counters live: a Redis hash per month, or a JSON file for offline replays.

Redis layout (prefix `dmvq` by default):
    <prefix>:agg:<YYYY-MM>   hash, counter key -> integer (keys: see `stream.aggregates`)
    <prefix>:agg:months      set of months that have counters

`stage()` only queues commands on a pipeline the caller owns: the runtime wraps aggregates, alerts and
checkpoint offsets in one MULTI/EXEC, so either all of a checkpoint lands or none of it does.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import orjson
import redis

from stream.aggregates import Delta

FILE_FORMAT = "dmvq.aggregates.v1"
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def check_month(month: str) -> str:
    if not _MONTH.match(month):
        raise ValueError(f"month must be YYYY-MM, got {month!r}")
    return month


class AggregateStore:
    def __init__(self, client: redis.Redis, prefix: str = "dmvq") -> None:
        self._r = client
        self._prefix = prefix

    def key(self, month: str) -> str:
        return f"{self._prefix}:agg:{check_month(month)}"

    @property
    def months_key(self) -> str:
        return f"{self._prefix}:agg:months"

    def stage(self, pipe: redis.client.Pipeline, delta: Delta) -> None:
        """Queue the increments of `delta` on the caller's (transactional) pipeline; executes nothing.

        One server-side loop of HINCRBYs per `_CHUNK` counters instead of one command each: a checkpoint
        carries tens of thousands of counters, and packing and parsing a command per counter was a
        tenth of the worker's CPU (bench profile, docs/hotpath.md)."""
        for month in sorted(delta):
            counters = delta[month]
            if not counters:
                continue
            key = self.key(month)
            pipe.sadd(self.months_key, month)
            args: list[str | int] = []
            for field in sorted(counters):
                inc = counters[field]
                if inc:
                    args += (field, inc)
                    if len(args) >= 2 * _CHUNK:
                        pipe.eval(_HINCRBY_ALL, 1, key, *args)
                        args = []
            if args:
                pipe.eval(_HINCRBY_ALL, 1, key, *args)

    def read(self, month: str) -> dict[str, int]:
        raw: dict[Any, Any] = self._r.hgetall(self.key(month))  # type: ignore[assignment]
        return {_text(k): int(v) for k, v in raw.items()}

    def read_fields(self, month: str, fields: list[str]) -> dict[str, int]:
        """Only the named counters (HMGET): e.g. the `s|` totals of earlier months for a trend."""
        values: list[Any] = self._r.hmget(self.key(month), fields)  # type: ignore[assignment]
        return {f: int(v) for f, v in zip(fields, values, strict=True) if v is not None}

    def months(self) -> list[str]:
        raw: set[Any] = self._r.smembers(self.months_key)  # type: ignore[assignment]
        return sorted(_text(m) for m in raw)

    def read_all(self) -> Delta:
        return {m: self.read(m) for m in self.months()}


_CHUNK = 5000
# ARGV = field, increment, field, increment, ...: HINCRBY each, atomically (inside the caller's MULTI)
_HINCRBY_ALL = """
for i = 1, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
return #ARGV / 2
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def dump_json(path: Path, months: Delta) -> None:
    """Write counters for every month; sorted keys make the file byte-stable."""
    doc = {"format": FILE_FORMAT, "months": {m: dict(sorted(c.items())) for m, c in sorted(months.items())}}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=0, sort_keys=True, separators=(",", ":")) + "\n", encoding="utf-8")
    tmp.replace(path)


def load_json(path: Path) -> Delta:
    """Read a file written by `dump_json` (or by `dmvwatch replay --aggregates-out`); ValueError if bad."""
    doc = orjson.loads(path.read_bytes())
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: not an aggregates file")
    # Also accept the bare `{month: counters}` mapping (what `orjson.dumps(drained)` gives).
    months = doc["months"] if doc.get("format") == FILE_FORMAT else doc
    out: Delta = {}
    for month, counters in months.items():
        check_month(month)
        if not isinstance(counters, dict) or not all(type(v) is int for v in counters.values()):
            raise ValueError(f"{path}: month {month}: counters must be integers")
        out[month] = counters
    return out
