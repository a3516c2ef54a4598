"""(c) The peer: a faust-streaming app doing the same decode and validation (our pydantic contract
models) plus bulk-sweep and agency-spike counting in windowed tables, as a team would first build it.

Run by the benchmark as `python -m bench.faust_peer` with BENCH_TOPIC, BENCH_TOTAL, BENCH_OUT set;
writes {"events_per_s": ...} to BENCH_OUT after BENCH_TOTAL events and exits.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import faust
import orjson

from stream.contract import QueryIn, ResponseIn

TOPIC = os.environ["BENCH_TOPIC"]
TOTAL = int(os.environ["BENCH_TOTAL"])
OUT = os.environ["BENCH_OUT"]
BROKER = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")

app = faust.App(
    f"bench-faust-{os.getpid()}",
    broker=f"kafka://{BROKER}",
    store="memory://",
    topic_partitions=1,
    web_enabled=False,
    producer_linger_ms=5,
)
events = app.topic(TOPIC, value_type=bytes, value_serializer="raw")
# Hourly tumbling windows, as in the faust docs: distinct (ori, subject) pairs and volume per ORI.
subjects = app.Table("subjects", default=int).tumbling(3600, expires=7200)
volume = app.Table("volume", default=int).tumbling(3600, expires=7 * 86400)
state: dict[str, Any] = {"seen": 0, "started": None, "alerts": 0, "dead": 0}


def validate(raw: bytes) -> Any:
    obj = orjson.loads(raw)
    if obj.get("schema") == "dmvq.query.v1":
        return QueryIn.model_validate(obj)
    return ResponseIn.model_validate(obj)


@app.agent(events)
async def process(stream: Any) -> None:
    async for raw in stream:
        if state["started"] is None:
            state["started"] = time.perf_counter()
        state["seen"] += 1
        try:
            event = validate(raw)
        except Exception:
            state["dead"] += 1
        else:
            if isinstance(event, QueryIn):
                ori = event.originating_ori
                volume[ori] += 1
                key = f"{ori}|{event.search.subject_key}"
                if subjects[key].now() == 0:
                    subjects[key] += 1
                    if volume[ori].now() > 500:  # spike/sweep threshold: one alert per crossing
                        state["alerts"] += 1
        if state["seen"] >= TOTAL:
            elapsed = time.perf_counter() - state["started"]
            with open(OUT, "wb") as fh:
                fh.write(orjson.dumps({"events_per_s": TOTAL / elapsed, "seconds": elapsed, **state}))
            os._exit(0)


if __name__ == "__main__":
    sys.argv = [sys.argv[0], "worker", "-l", "warn"]
    app.main()
