"""Fallback for the integration fixtures: start a service with testcontainers when its env var is
unset and a Docker engine answers. Images are pinned like docker-compose.yml's."""

from __future__ import annotations

import time
from contextlib import ExitStack
from typing import Any

import httpx

KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.0"  # testcontainers' KafkaContainer knows how to run this one
REDIS_IMAGE = "redis:7.4.2"
PROMETHEUS_IMAGE = "prom/prometheus:v2.55.1"
ALERTMANAGER_IMAGE = "prom/alertmanager:v0.27.0"


def _wait_ready(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} not ready after {timeout_s}s")


def _http_service(image: str, port: int, containers: ExitStack) -> str:
    from testcontainers.core.container import DockerContainer

    container: Any = containers.enter_context(DockerContainer(image).with_exposed_ports(port))
    url = f"http://{container.get_container_host_ip()}:{container.get_exposed_port(port)}"
    _wait_ready(f"{url}/-/ready")
    return url


def start_service(var: str, containers: ExitStack) -> str:
    """Start the container behind `var` for the whole session and return its address."""
    if var == "KAFKA_BOOTSTRAP_SERVERS":
        try:
            from testcontainers.community.kafka import KafkaContainer
        except ImportError:  # testcontainers < 4.10
            from testcontainers.kafka import KafkaContainer
        kafka: Any = containers.enter_context(KafkaContainer(KAFKA_IMAGE).with_kraft())
        return str(kafka.get_bootstrap_server())
    if var == "REDIS_URL":
        try:
            from testcontainers.community.redis import RedisContainer
        except ImportError:
            from testcontainers.redis import RedisContainer
        red: Any = containers.enter_context(RedisContainer(REDIS_IMAGE))
        return f"redis://{red.get_container_host_ip()}:{red.get_exposed_port(6379)}/0"
    if var == "PROMETHEUS_URL":
        return _http_service(PROMETHEUS_IMAGE, 9090, containers)
    if var == "ALERTMANAGER_URL":
        return _http_service(ALERTMANAGER_IMAGE, 9093, containers)
    raise KeyError(var)
