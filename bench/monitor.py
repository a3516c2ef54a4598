"""(b) The monitor, in one process: decode, validate, pseudonymize, every detector, metrics, alerts to
Redis, checkpoints and commits: the same `Worker` that `dmvwatch run` drives."""

from __future__ import annotations

import threading
import time
from typing import Any

from prometheus_client import CollectorRegistry

from bench.common import BOOTSTRAP, run_id


def build_worker(topic: str, redis_url: str, repartition: str = "off", registry: str | None = None) -> Any:
    from stream.aggregates import MonthlyAggregator
    from stream.alerting.redis_client import connect
    from stream.alerting.store import AlertStore
    from stream.app import build_core
    from stream.export.store import AggregateStore
    from stream.metrics import Metrics
    from stream.settings import load_settings
    from stream.worker import Worker

    overrides: dict[str, Any] = {
        "kafka": {
            "bootstrap_servers": BOOTSTRAP,
            "input_topics": [topic],
            "group_id": f"bench-{run_id()}",
            "repartition": repartition,
        },
        "redis": {"url": redis_url},
        "metrics": {"port": 0},
    }
    if registry:
        overrides["runtime"] = {"registry_path": registry}
    settings = load_settings(**overrides)
    core = build_core(settings, live=False)
    client = connect(settings.redis, decode_responses=False)
    client.flushdb()
    metrics = Metrics(CollectorRegistry())
    return Worker(
        core,
        client,
        metrics,
        AlertStore(client, stream_maxlen=settings.redis.alert_stream_maxlen),
        AggregateStore(client),
        MonthlyAggregator,
    )


def measure(topic: str, total: int, redis_url: str, registry: str | None = None) -> dict[str, float]:
    worker = build_worker(topic, redis_url, registry=registry)
    worker.consumer.subscribe(
        worker.topology.subscriptions, on_assign=worker._on_assign, on_revoke=worker._on_revoke
    )
    seen = 0
    started = None
    while seen < total:
        n = worker.step()
        if n and started is None:
            started = time.perf_counter()
        seen += n
    worker._flush_alerts(force=True)
    worker._checkpoint()
    elapsed = time.perf_counter() - (started or time.perf_counter())
    alerts = worker.redis.xlen("dmvq:alerts")
    worker.shutdown()
    return {"events_per_s": total / elapsed, "seconds": elapsed, "alerts": float(alerts)}


def run_forever(topic: str, redis_url: str, stop: threading.Event, registry: str | None = None) -> None:
    worker = build_worker(topic, redis_url, registry=registry)
    worker.run(stop)
