"""Fixtures connecting integration tests to the REAL local services (never mocks).

Addresses come from `KAFKA_BOOTSTRAP_SERVERS`, `REDIS_URL`, `PROMETHEUS_URL` and `ALERTMANAGER_URL`
(`make test` exports them for the stack of `make up`). When one is unset and a Docker engine answers,
the service is started with testcontainers instead; otherwise the test FAILS naming what to set:
a silent skip would let CI go green without testing anything.

Isolation: every test gets its own Kafka topic(s) (`new_topic`), consumer group (`unique_group`) and
Redis database (`redis_url`), so engineers can run the suites at the same time on one stack.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from confluent_kafka.admin import AdminClient, NewTopic, TopicMetadata

_ENV_HINT = {
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "PROMETHEUS_URL": "http://127.0.0.1:9090",
    "ALERTMANAGER_URL": "http://127.0.0.1:9093",
}
_NEXT_DB_KEY = "dmvq:test:next-db"
_LEASE_KEY = "dmvq:test:db-lease:{}"
_LEASE_TTL_S = 1800  # a crashed run frees its databases after this


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: needs the real local services")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Everything under tests/integration is an integration test, marked or not.
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.integration)


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


def _from_env_or_container(var: str, containers: ExitStack) -> str:
    value = os.environ.get(var, "").strip()
    if value:
        return value
    if not _docker_answers():
        pytest.fail(
            f"{var} is not set and no Docker engine answers: start the local stack with `make up` and "
            f"export {var}={_ENV_HINT[var]} (`make test` does both)",
            pytrace=False,
        )
    from ._containers import start_service

    return start_service(var, containers)


@pytest.fixture(scope="session")
def _containers() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


@pytest.fixture(scope="session")
def kafka_bootstrap(_containers: ExitStack) -> str:
    return _from_env_or_container("KAFKA_BOOTSTRAP_SERVERS", _containers)


@pytest.fixture(scope="session")
def prometheus_url(_containers: ExitStack) -> str:
    return _from_env_or_container("PROMETHEUS_URL", _containers).rstrip("/")


@pytest.fixture(scope="session")
def alertmanager_url(_containers: ExitStack) -> str:
    return _from_env_or_container("ALERTMANAGER_URL", _containers).rstrip("/")


@pytest.fixture(scope="session")
def _redis_base_url(_containers: ExitStack) -> str:
    return _from_env_or_container("REDIS_URL", _containers)


def _with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def _lease_db(admin: redis.Redis) -> int:
    """A database number no other running test holds: INCR is atomic across processes, and the
    lease (SET NX with a TTL) skips numbers still held after the counter wraps around."""
    try:
        count = int(admin.config_get("databases").get("databases") or 16)
    except redis.ResponseError:  # CONFIG disabled on a managed Redis
        count = 16
    for _ in range(count * 2):
        db = 1 + int(admin.incr(_NEXT_DB_KEY)) % (count - 1)  # db 0 holds the counter
        if admin.set(_LEASE_KEY.format(db), os.getpid(), nx=True, ex=_LEASE_TTL_S):
            return db
    raise RuntimeError(f"all {count - 1} Redis test databases are leased; raise `databases`")


@pytest.fixture
def redis_url(_redis_base_url: str) -> Iterator[str]:
    """URL of a Redis database of this test only, flushed before use."""
    admin = redis.Redis.from_url(_with_db(_redis_base_url, 0))
    db = _lease_db(admin)
    url = _with_db(_redis_base_url, db)
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    yield url
    admin.delete(_LEASE_KEY.format(db))
    admin.close()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """`redis.Redis` on this test's database (replies are bytes, as redis-py's default)."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def _slug(request: pytest.FixtureRequest) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "-", request.node.name)[:60].strip("-")


@pytest.fixture
def unique_group(request: pytest.FixtureRequest) -> str:
    return f"test-{_slug(request)}-{uuid.uuid4().hex[:10]}"


def _has_leaders(meta: TopicMetadata | None, partitions: int) -> bool:
    if meta is None or meta.error is not None or len(meta.partitions) != partitions:
        return False
    return all(p.leader >= 0 for p in meta.partitions.values())


def _wait_for_leaders(admin: AdminClient, topic: str, partitions: int, timeout_s: float = 30) -> None:
    # create_topics returns before every partition has a leader; producing earlier can fail.
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _has_leaders(admin.list_topics(topic=topic, timeout=5).topics.get(topic), partitions):
            return
        time.sleep(0.1)
    raise TimeoutError(f"topic {topic} has no leaders after {timeout_s}s")


@pytest.fixture
def new_topic(kafka_bootstrap: str, request: pytest.FixtureRequest) -> Iterator[Callable[..., str]]:
    """Factory `new_topic(partitions=1) -> name`: a fresh topic, deleted after the test."""
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    created: list[str] = []

    def make(partitions: int = 1) -> str:
        name = f"test.{_slug(request)}.{uuid.uuid4().hex[:10]}"
        admin.create_topics([NewTopic(name, partitions, 1)], request_timeout=30)[name].result(timeout=30)
        created.append(name)
        _wait_for_leaders(admin, name, partitions)
        return name

    yield make
    if created:
        for fut in admin.delete_topics(created, request_timeout=30).values():
            fut.result(timeout=30)
