"""docker-compose.yml stays a faithful copy of the local stack: it parses, pins every image, listens
on the same default ports as deploy/local/stack, and only mounts files that exist."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
STACK_SCRIPT = ROOT / "deploy" / "local" / "stack"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    svc = compose["services"]
    assert isinstance(svc, dict) and svc
    return svc


def _stack_default(var: str) -> int:
    """Default port of the local stack, read from the script itself so both cannot drift apart."""
    found = re.search(rf"{var}=\"\$\{{{var}:-(\d+)\}}\"", STACK_SCRIPT.read_text())
    assert found, f"{var} default not found in {STACK_SCRIPT}"
    return int(found.group(1))


def _text(service: dict[str, Any]) -> str:
    """Command, entrypoint and environment of a service as one string, for address checks."""
    parts: list[str] = []
    for key in ("command", "entrypoint"):
        value = service.get(key)
        parts.extend(value if isinstance(value, list) else [str(value or "")])
    env = service.get("environment") or {}
    parts.extend(f"{k}={v}" for k, v in (env.items() if isinstance(env, dict) else enumerate(env)))
    return " ".join(parts)


def test_expected_services_present(services: dict[str, dict[str, Any]]) -> None:
    expected = {"kafka", "redis", "prometheus", "alertmanager", "grafana", "monitor", "simulator"}
    assert expected <= set(services)


def test_every_image_is_version_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        if "build" in svc:
            continue  # built from ./Dockerfile, whose base image is checked below
        image = svc.get("image", "")
        repo, _, tag = image.rpartition(":")
        assert repo and tag and "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest" and re.search(r"\d", tag), f"{name}: tag {tag!r} is not a version"


def test_dockerfile_base_image_pinned() -> None:
    base = re.search(r"^FROM\s+(\S+)", (ROOT / "Dockerfile").read_text(), re.M)
    assert base, "Dockerfile has no FROM"
    tag = base.group(1).rpartition(":")[2]
    assert tag != "latest" and re.search(r"\d+\.\d+", tag), base.group(1)


@pytest.mark.parametrize(
    ("service", "var", "pattern"),
    [
        ("kafka", "KAFKA_PORT", "PLAINTEXT://127.0.0.1:{port}"),
        ("kafka", "KAFKA_CONTROLLER_PORT", "CONTROLLER://127.0.0.1:{port}"),
        ("redis", "REDIS_PORT", "--port {port}"),
        ("prometheus", "PROMETHEUS_PORT", "--web.listen-address=127.0.0.1:{port}"),
        ("alertmanager", "ALERTMANAGER_PORT", "--web.listen-address=127.0.0.1:{port}"),
    ],
)
def test_ports_match_local_stack(
    services: dict[str, dict[str, Any]], service: str, var: str, pattern: str
) -> None:
    assert pattern.format(port=_stack_default(var)) in _text(services[service])


def test_all_services_share_the_host_network(services: dict[str, dict[str, Any]]) -> None:
    # The config files name 127.0.0.1 addresses; they only hold if every container shares it.
    for name, svc in services.items():
        assert svc.get("network_mode") == "host", f"{name} is not on the host network"
        assert "ports" not in svc, f"{name}: published ports mean nothing with host networking"


def test_monitor_and_simulator_run_the_cli(services: dict[str, dict[str, Any]]) -> None:
    assert services["monitor"]["command"][0] == "run"
    assert services["simulator"]["command"][0] == "simulate"
    assert "--to-kafka" in services["simulator"]["command"]
    assert (ROOT / "Dockerfile").is_file()


def test_mounted_config_files_exist(services: dict[str, dict[str, Any]]) -> None:
    mounts = 0
    for name, svc in services.items():
        for volume in svc.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                mounts += 1
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
    assert mounts >= 5  # prometheus.yml, rules, alertmanager.yml, grafana provisioning, dashboards


def test_grafana_provisioning_points_at_prometheus_and_dashboards() -> None:
    prov = ROOT / "deploy" / "grafana" / "provisioning"
    ds = yaml.safe_load((prov / "datasources" / "prometheus.yml").read_text())["datasources"][0]
    assert ds["uid"] == "prometheus"
    assert ds["url"] == f"http://127.0.0.1:{_stack_default('PROMETHEUS_PORT')}"
    provider = yaml.safe_load((prov / "dashboards" / "dmvwatch.yml").read_text())["providers"][0]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"


def test_local_and_compose_use_the_same_config_files(services: dict[str, dict[str, Any]]) -> None:
    script = STACK_SCRIPT.read_text()
    for path in ("deploy/prometheus/prometheus.yml", "deploy/alertmanager/alertmanager.yml"):
        assert path in script, f"local stack does not use {path}"
        assert any(v.startswith(f"./{path}:") for s in services.values() for v in s.get("volumes", []))
