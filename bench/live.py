"""Live measurements with real `dmvwatch run` processes: event-to-alert latency and peak RSS at a
steady rate, and scale-out (two workers against one on a multi-partition topic)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil
import redis
from confluent_kafka import TopicPartition

from bench.common import BOOTSTRAP, ROOT, run_id


def worker_env(
    topic: str, group: str, redis_url: str, port: int, registry: Path, repartition: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DMVWATCH_")}
    env.update(
        {
            "DMVWATCH_KAFKA__BOOTSTRAP_SERVERS": BOOTSTRAP,
            "DMVWATCH_KAFKA__INPUT_TOPICS": f'["{topic}"]',
            "DMVWATCH_KAFKA__GROUP_ID": group,
            "DMVWATCH_KAFKA__REPARTITION": repartition,
            "DMVWATCH_KAFKA__INTERNAL_PARTITIONS": "2",
            "DMVWATCH_REDIS__URL": redis_url,
            "DMVWATCH_METRICS__PORT": str(port),
            "DMVWATCH_RUNTIME__REGISTRY_PATH": str(registry),
            "DMVWATCH_LOG_LEVEL": "WARNING",
        }
    )
    return env


def start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "stream", "run", "--no-notify"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def histogram_quantiles(text: str, name: str, qs: tuple[float, ...]) -> dict[float, float]:
    buckets: dict[float, float] = {}
    for line in text.splitlines():
        if line.startswith(f"{name}_bucket"):
            le = line.split('le="')[1].split('"')[0]
            value = float(line.rsplit(" ", 1)[1])
            bound = float("inf") if le == "+Inf" else float(le)
            buckets[bound] = buckets.get(bound, 0.0) + value
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0.0
    out = {}
    for q in qs:
        rank, prev_b, prev_c = q * total, 0.0, 0.0
        for b in bounds:
            if buckets[b] >= rank:
                width = (b if b != float("inf") else prev_b) - prev_b
                frac = (rank - prev_c) / max(buckets[b] - prev_c, 1e-9)
                out[q] = prev_b + width * frac
                break
            prev_b, prev_c = b, buckets[b]
    out[-1.0] = total
    return out


def latency_and_rss(
    registry: Path, redis_url: str, rate: int, seconds: int, work: Path, scenarios: Path | None = None
) -> dict[str, float]:
    topic = f"bench.live.{run_id()}"
    from bench.common import create_topic

    create_topic(topic, 1)
    port = 9470
    proc = start(
        worker_env(topic, f"bench-live-{run_id()}", redis_url, port, registry, "off"), work / "live.log"
    )
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        p = psutil.Process(proc.pid)
        while not stop.is_set():
            try:
                peak = max(peak, p.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    time.sleep(4)  # join the group before traffic starts
    sim = subprocess.run(
        [
            sys.executable,
            "-m",
            "stream",
            "simulate",
            "--to-kafka",
            "--bootstrap",
            BOOTSTRAP,
            "--topic",
            topic,
            "--rate",
            str(rate),
            "--duration",
            f"{seconds}s",
            "--seed",
            "5",
            "--scenarios",
            str(scenarios or ROOT / "bench" / "live-scenarios.yaml"),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    time.sleep(5)
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    stop.set()
    proc.terminate()
    proc.wait(60)
    q = histogram_quantiles(text, "dmvwatch_event_to_alert_seconds", (0.5, 0.99))
    return {
        "rate": rate,
        "seconds": seconds,
        "simulator_rc": sim.returncode,
        "alerts_observed": q.get(-1.0, 0),
        "p50_event_to_alert_s": q.get(0.5, float("nan")),
        "p99_event_to_alert_s": q.get(0.99, float("nan")),
        "peak_rss_mb": peak / 2**20,
    }


def drain_time(
    topic: str, partitions: int, n_workers: int, registry: Path, redis_url: str, work: Path
) -> float:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    group = f"bench-scale-{n_workers}-{run_id()}"
    procs = [
        start(worker_env(topic, group, redis_url, 0, registry, "on"), work / f"scale{n_workers}.log")
        for _ in range(n_workers)
    ]
    from confluent_kafka import Consumer, KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    probe = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "bench-probe"})
    started = time.perf_counter()
    try:
        while True:
            assert all(p.poll() is None for p in procs), "a worker died"
            meta = admin.list_topics(timeout=10).topics
            names = [topic] + [f"{topic}.{s}" for s in ("by-query", "by-agency", "by-subject", "by-state")]
            behind = 0
            for name in names:
                if name not in meta:
                    behind += 1
                    continue
                for part in meta[name].partitions:
                    try:
                        _, high = probe.get_watermark_offsets(TopicPartition(name, part), timeout=5)
                    except KafkaException:  # a topic the workers just created has no leader yet
                        behind += 1
                        continue
                    saved = client.hget(f"dmvq:ckpt:{group}:{name}:{part}", "offset")
                    behind += high - (int(saved) if saved else 0)
            if behind == 0:
                return time.perf_counter() - started
            time.sleep(0.2)
    finally:
        probe.close()
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(60)
