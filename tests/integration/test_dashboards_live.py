"""Every dashboard panel returns data from a real worker scraped by the real local Prometheus.

A `dmvwatch run` process consumes simulated traffic (stream.simulate, agency enrichment on) from a fresh
topic and serves metrics on one of the ports Prometheus scrapes (9464-9466, job `dmvwatch`). Then every
query of every panel of every dashboard is evaluated through Prometheus's HTTP API with the template
variables substituted: none may come back empty. Also: every metric a dashboard or rule names is in the
worker's scrape, and the scrape stays within the cardinality budget after a scaled national day.
"""

from __future__ import annotations

import json
import math
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from stream.app import build_core
from stream.errors import DecodeError
from stream.metrics import Metrics
from stream.settings import load_settings
from stream.simulate.engine import SimConfig, Simulation
from stream.simulate.scenarios import ScenarioSpec
from tests.integration.runtime_harness import produce, start_worker, wait_drained, worker_env
from tests.unit.test_dashboards import DASHBOARDS, metric_names, recording_rules, rules

SCRAPE_PORTS = (9464, 9465, 9466)  # the `dmvwatch` job in deploy/prometheus/prometheus.yml
SERIES_BUDGET = 2000
SCENARIOS = ("policy_leak", "blocked_retry", "photo_harvest", "restricted_use", "agency_substitution")


def simulated_lines(hours: float, scale: float, seed: int = 11) -> list[bytes]:
    specs = [
        ScenarioSpec(name=k, kind=k, start="5m", duration=f"{max(hours * 60 - 10, 10):.0f}m")
        for k in SCENARIOS
    ]
    cfg = SimConfig(seed=seed, duration_s=hours * 3600, scale=scale, enrich=True, scenarios=specs,
                    malformed_share=0.002, duplicate_share=0.002)  # fmt: skip
    return [line for batch in Simulation(cfg).run() for line in batch]


def free_scrape_port() -> int:
    for port in SCRAPE_PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail(f"ports {SCRAPE_PORTS} (Prometheus' dmvwatch targets) are all in use", pytrace=False)


def promql(prom: str, expr: str, instant: bool) -> list[dict[str, Any]]:
    now = time.time()
    if instant:
        r = httpx.get(f"{prom}/api/v1/query", params={"query": expr, "time": now}, timeout=30)
    else:
        params = {"query": expr, "start": now - 120, "end": now, "step": 15}
        r = httpx.get(f"{prom}/api/v1/query_range", params=params, timeout=30)
    body = r.json()
    assert body.get("status") == "success", f"{expr}: {body}"
    return body["data"]["result"]


def substitute(expr: str, instance: str) -> str:
    out = expr.replace("$__rate_interval", "1m").replace("$instance", instance).replace("$state", ".*")
    assert "$" not in out, f"unsubstituted variable in {out}"
    return out


def panel_targets() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel["targets"]:
                yield board["uid"], panel["title"], target


def ensure_rules_loaded(prom: str) -> None:
    """Prometheus reads rule files at start-up or on reload only; reload once if ours are missing."""

    def groups() -> set[str]:
        return {g["name"] for g in httpx.get(f"{prom}/api/v1/rules", timeout=10).json()["data"]["groups"]}

    if "dmvwatch.recording" not in groups():
        httpx.post(f"{prom}/-/reload", timeout=30)  # the local stack runs with --web.enable-lifecycle
    assert "dmvwatch.recording" in groups(), "deploy/prometheus/rules/*.yml not loaded by Prometheus"


def wait_scraped(prom: str, instance: str, processed: float, timeout_s: float = 90) -> None:
    """Until Prometheus holds several scrapes of the worker, the last one after all traffic."""
    deadline = time.monotonic() + timeout_s
    expr = f'count_over_time(dmvwatch_events_processed_total{{instance="{instance}"}}[1m])'
    while time.monotonic() < deadline:
        samples = promql(prom, expr, instant=True)
        last = promql(prom, f'dmvwatch_events_processed_total{{instance="{instance}"}}', instant=True)
        if (
            samples
            and float(samples[0]["value"][1]) >= 6
            and last
            and float(last[0]["value"][1]) >= processed
        ):
            time.sleep(12)  # two more rule evaluations (evaluation_interval 5s)
            return
        time.sleep(2)
    pytest.fail(f"Prometheus did not scrape {instance} with all traffic within {timeout_s}s")


def scrape(port: int) -> list[Any]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return list(text_string_to_metric_families(text))


@pytest.fixture
def live_worker(
    kafka_bootstrap: str, redis_url: str, new_topic: Callable[..., str], unique_group: str, tmp_path: Path
) -> Iterator[tuple[int, float]]:
    """A `dmvwatch run` process that has consumed ~2 h of simulated traffic; yields (port, messages)."""
    port = free_scrape_port()
    topic = new_topic(1)
    lines = simulated_lines(hours=2, scale=0.05)
    env = worker_env(kafka_bootstrap, redis_url, topic, unique_group, DMVWATCH_METRICS__PORT=str(port),
                     DMVWATCH_METRICS__HOST="127.0.0.1")  # fmt: skip
    proc = start_worker(env, tmp_path / "worker.log")
    client = redis.Redis.from_url(redis_url)
    try:
        produce(kafka_bootstrap, topic, lines)
        wait_drained(kafka_bootstrap, client, unique_group, topic, [proc], timeout_s=240)
        yield port, float(len(lines))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except Exception:
            proc.kill()
        client.close()
        print((tmp_path / "worker.log").read_text()[-2000:])


def test_every_panel_returns_data_and_every_named_metric_is_exported(
    live_worker: tuple[int, float], prometheus_url: str
) -> None:
    port, messages = live_worker
    instance = f"127.0.0.1:{port}"
    ensure_rules_loaded(prometheus_url)
    wait_scraped(prometheus_url, instance, processed=messages * 0.9)  # dead letters and duplicates aside
    empty, nan_only, count = [], [], 0
    for uid, title, target in panel_targets():
        expr = substitute(target["expr"], instance)
        result = promql(prometheus_url, expr, instant=target["instant"])
        count += 1
        if not result:
            empty.append(f"{uid} / {title}: {expr}")
            continue
        values = [v for row in result for _, v in ([row["value"]] if "value" in row else row["values"])]
        if all(math.isnan(float(v)) for v in values):
            nan_only.append(f"{uid} / {title} [{target['refId']}]")
    print(f"{count} panel queries evaluated; NaN-only (histogram not observed yet): {nan_only}")
    assert count >= 50
    assert not empty, "empty panel queries:\n" + "\n".join(empty)

    families = scrape(port)
    exported = {s.name for fam in families for s in fam.samples}
    recorded = recording_rules()
    named: set[str] = set()
    for _, _, target in panel_targets():
        named |= metric_names(target["expr"], recorded)
    for rule in rules():
        named |= metric_names(rule["expr"], recorded)
    assert named - exported == set()
    totals = {fam.name: sum(s.value for s in fam.samples if s.name.endswith("_total")) for fam in families}
    moved = ("dmvwatch_queries", "dmvwatch_responses", "dmvwatch_immigration_queries",
             "dmvwatch_photo_requests", "dmvwatch_events_processed")  # fmt: skip
    assert all(totals[name] > 0 for name in moved), {name: totals[name] for name in moved}
    series = sum(len(fam.samples) for fam in families)
    print(f"live scrape after simulated traffic: {series} series")
    assert series <= SERIES_BUDGET


def test_series_count_after_a_scaled_national_day() -> None:
    """The worker's replay path (decode -> pipeline with Metrics as observer) over a 24 h day at 2% volume."""
    lines = simulated_lines(hours=24, scale=0.02, seed=5)
    core = build_core(load_settings(), live=False)
    m = Metrics(CollectorRegistry())
    pipeline = core.new_pipeline([m], on_late=m.late_event, on_duplicate=m.duplicate)
    for raw in lines:
        try:
            event = core.decoder.decode(raw)
        except DecodeError as exc:
            m.dead_letter(exc.reason)
            continue
        for finding in pipeline.process(event):
            m.alert(finding.detector, finding.severity)
    m.observe_batch(1.0, len(lines))
    for partition in range(12):  # a worker holding 12 input and internal partitions
        m.set_partition("dmvq.events", partition, 0, time.time())
    series = m.series_count()
    queries = sum(
        s.value for fam in m.registry.collect() if fam.name == "dmvwatch_queries" for s in fam.samples
    )
    print(f"scaled national day: {len(lines)} lines, {queries:.0f} logical queries, {series} series")
    assert queries > 0
    assert series <= SERIES_BUDGET
