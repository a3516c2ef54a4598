"""Checkpoints in Redis: a partition's pipeline state saved together with the offset it reflects.

Redis, not Kafka, is the source of truth for where a partition resumes: the checkpoint, the monthly
aggregate increments of the same span and (already before) its alerts are written in one MULTI/EXEC,
and only then are offsets committed to Kafka (for lag monitoring). A crash therefore resumes exactly
at a state that matches its offset: no window double-counted, no aggregate counted twice.
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson
import redis

from stream.lazy_json import encode_lazy


class CheckpointStore:
    def __init__(self, client: redis.Redis, prefix: str, group: str) -> None:
        self.client = client
        self.prefix = prefix
        self.group = group

    def key(self, topic: str, partition: int) -> str:
        return f"{self.prefix}:ckpt:{self.group}:{topic}:{partition}"

    def load(self, topic: str, partition: int) -> tuple[int | None, dict[str, Any] | None]:
        raw = self.client.hmget(self.key(topic, partition), ["offset", "state"])
        offset, state = raw[0], raw[1]
        if offset is None:
            return None, None
        if state is not None and not isinstance(state, bytes):
            raise TypeError("checkpoints are binary: use a Redis client with decode_responses=False")
        return int(offset), (orjson.loads(zlib.decompress(state)) if state else None)

    def stage(
        self, pipe: redis.client.Pipeline, topic: str, partition: int, offset: int, state: dict[str, Any]
    ) -> int:
        """Stage offset and state in `pipe`. `state` may be a `LazyMap`: each part is then built,
        encoded and compressed in turn and dropped (see `stream.lazy_json`)."""
        blob = encode_lazy(state)
        pipe.hset(self.key(topic, partition), mapping={"offset": offset, "state": blob})
        return len(blob)

    def clear(self) -> None:
        for key in self.client.scan_iter(f"{self.prefix}:ckpt:{self.group}:*"):
            self.client.delete(key)
