"""Smoke tests of the local stack: each service answers and does its one job for us."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis
from confluent_kafka import Consumer, Producer

pytestmark = pytest.mark.integration


def test_kafka_produce_then_consume_in_order(
    kafka_bootstrap: str, new_topic: Callable[..., str], unique_group: str
) -> None:
    topic = new_topic(partitions=1)
    sent = [f"msg-{i}-{uuid.uuid4().hex}".encode() for i in range(5)]
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True})
    for value in sent:
        producer.produce(topic, value=value, key=b"k")
    assert producer.flush(15) == 0, "messages still queued after 15 s"

    consumer = Consumer(
        {"bootstrap.servers": kafka_bootstrap, "group.id": unique_group, "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    got: list[bytes] = []
    deadline = time.monotonic() + 30
    try:
        while len(got) < len(sent) and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            got.append(msg.value() or b"")
    finally:
        consumer.close()
    assert got == sent


def test_new_topic_has_requested_partitions(kafka_bootstrap: str, new_topic: Callable[..., str]) -> None:
    from confluent_kafka.admin import AdminClient

    topic = new_topic(partitions=6)
    meta = AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(topic=topic, timeout=10)
    assert len(meta.topics[topic].partitions) == 6


def test_redis_round_trip_in_own_database(redis_client: redis.Redis, redis_url: str) -> None:
    assert not redis_url.endswith("/0"), "db 0 holds the allocation counter, tests must not use it"
    assert redis_client.dbsize() == 0, "the test database must start empty"
    redis_client.hset("dmvq:smoke", mapping={"a": "1", "b": "2"})
    assert redis_client.hgetall("dmvq:smoke") == {b"a": b"1", b"b": b"2"}


def test_redis_databases_differ_between_tests(redis_url: str) -> None:
    # A second lease while the first is held must give another database.
    from .conftest import _lease_db, _with_db

    admin = redis.Redis.from_url(_with_db(redis_url, 0))
    other = _lease_db(admin)
    try:
        assert f"/{other}" != redis_url[redis_url.rindex("/") :]
    finally:
        admin.delete(f"dmvq:test:db-lease:{other}")
        admin.close()


def test_prometheus_answers_an_instant_query(prometheus_url: str) -> None:
    resp = httpx.get(f"{prometheus_url}/api/v1/query", params={"query": "up"}, timeout=10)
    resp.raise_for_status()
    body = resp.json()
    assert body["status"] == "success"
    assert body["data"]["resultType"] == "vector"


def test_alertmanager_accepts_and_lists_an_alert(alertmanager_url: str) -> None:
    marker = f"smoke-{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    alert = {
        "labels": {"alertname": "DmvqSmokeTest", "smoke_id": marker, "severity": "info"},
        "annotations": {"summary": "integration smoke test"},
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(minutes=2)).isoformat(),  # resolves itself soon after the test
    }
    httpx.post(f"{alertmanager_url}/api/v2/alerts", json=[alert], timeout=10).raise_for_status()

    deadline = time.monotonic() + 10
    found: list[dict[str, object]] = []
    while not found and time.monotonic() < deadline:
        resp = httpx.get(
            f"{alertmanager_url}/api/v2/alerts", params={"filter": f'smoke_id="{marker}"'}, timeout=10
        )
        resp.raise_for_status()
        found = resp.json()
        time.sleep(0.2)
    assert len(found) == 1
    assert found[0]["labels"]["alertname"] == "DmvqSmokeTest"  # type: ignore[index]
