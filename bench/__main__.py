"""`make bench`: throughput, latency and memory on the real local Kafka, in one run, on the same data.

(a) bare confluent-kafka consume   (b) the monitor   (c) a faust-streaming peer   (d) replay from a file
+ simulator file/Kafka rates, event-to-alert latency and peak RSS at a steady live rate, scale-out,
and the monthly export. Results: bench/results/<date>.json and the table in docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from bench import common, live, monitor, raw_consume
from bench.report import write_report


def replay_rate(path: Path, registry: Path, limit: int | None) -> dict[str, float]:
    from stream.app import build_core
    from stream.replay import Replayer, iter_lines
    from stream.settings import load_settings

    core = build_core(load_settings(runtime={"registry_path": registry}), live=False)
    replayer = Replayer(core)
    n = 0
    started = time.perf_counter()
    for line in iter_lines(path):
        replayer.feed(line)
        n += 1
        if limit and n >= limit:
            break
    replayer.finish()
    elapsed = time.perf_counter() - started
    return {
        "events": n,
        "seconds": elapsed,
        "events_per_s": n / elapsed,
        "alerts": len(replayer.result.alerts),
    }


def faust_rate(topic: str, total: int, work: Path) -> dict[str, float]:
    out = work / "faust.json"
    out.unlink(missing_ok=True)
    env = dict(os.environ, BENCH_TOPIC=topic, BENCH_TOTAL=str(total), BENCH_OUT=str(out))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.faust_peer"],
        cwd=common.ROOT,
        env=env,
        stdout=(work / "faust.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        proc.wait(timeout=1800)
    except subprocess.TimeoutExpired:
        proc.kill()
        return {"events_per_s": float("nan"), "error": "timeout"}
    return (
        json.loads(out.read_text()) if out.exists() else {"events_per_s": float("nan"), "error": "no result"}
    )


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench")
    ap.add_argument("--duration", default="1d", help="simulated national traffic for the Kafka runs")
    ap.add_argument("--scale", type=float, default=0.25)
    ap.add_argument(
        "--replay-duration", default="1d", help="simulated span for the replay run (d); 12d at scale 1 is 10M"
    )
    ap.add_argument("--replay-scale", type=float, default=0.5)
    ap.add_argument("--faust-events", type=int, default=100_000)
    ap.add_argument("--live-seconds", type=int, default=60)
    ap.add_argument("--scale-events", type=int, default=200_000)
    ap.add_argument("--skip", nargs="*", default=[], help="parts to skip: faust replay live scale")
    args = ap.parse_args()
    work = common.WORK
    work.mkdir(parents=True, exist_ok=True)
    redis_url = common.REDIS_URL.rsplit("/", 1)[0] + "/14"
    res: dict[str, object] = {"started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}

    data = work / "national.jsonl"
    t = time.perf_counter()
    common.simulate(data, args.duration, args.scale, 1, str(common.ROOT / "deploy/scenarios/eval.yaml"))
    lines = common.read_lines(data)
    registry = data.with_suffix(".registry.jsonl")
    res["events"] = len(lines)
    res["simulate_cli_seconds"] = time.perf_counter() - t
    from stream.simulate import bench_file, bench_kafka

    res["simulator_file_events_per_s"] = bench_file(300_000, work / "simbench.jsonl")
    sim_topic = common.create_topic(f"bench.sim.{common.run_id()}", 1)
    res["simulator_kafka_events_per_s"] = bench_kafka(300_000, common.BOOTSTRAP, sim_topic)

    topic = common.create_topic(f"bench.one.{common.run_id()}", 1)
    res["fill_events_per_s"] = common.fill(topic, lines, 1)
    res["a_raw_consume_events_per_s"] = raw_consume.measure(topic, len(lines))
    res["b_monitor"] = monitor.measure(topic, len(lines), redis_url, str(registry))
    if "faust" not in args.skip:
        n = min(args.faust_events, len(lines))
        res["c_faust"] = faust_rate(topic, n, work)
    if "replay" not in args.skip:
        big = work / "replay.jsonl"
        common.simulate(
            big, args.replay_duration, args.replay_scale, 2, str(common.ROOT / "deploy/scenarios/eval.yaml")
        )
        res["d_replay"] = replay_rate(big, big.with_suffix(".registry.jsonl"), None)
    if "live" not in args.skip:
        res["live"] = live.latency_and_rss(registry, redis_url, 2000, args.live_seconds, work)
    if "scale" not in args.skip:
        scale_topic = common.create_topic(f"bench.two.{common.run_id()}", 2)
        common.fill(scale_topic, lines[: args.scale_events], 2)
        one = live.drain_time(scale_topic, 2, 1, registry, redis_url, work)
        two = live.drain_time(scale_topic, 2, 2, registry, redis_url, work)
        res["scale_out"] = {
            "one_worker_s": one,
            "two_workers_s": two,
            "speedup": one / two,
            "events": min(len(lines), args.scale_events),
        }
    try:
        from bench.bench_export import bench_export

        res["export"] = bench_export(work / "export")
    except ImportError as exc:
        res["export"] = {"error": str(exc)}
    res["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }
    res["command"] = "make bench  (" + " ".join(sys.argv[1:]) + ")"
    out = common.ROOT / "bench" / "results" / f"{dt.date.today().isoformat()}.json"
    out.write_text(json.dumps(res, indent=2, default=float) + "\n")
    write_report(res, common.ROOT / "docs" / "performance.md")
    print(json.dumps(res, indent=2, default=float))


if __name__ == "__main__":
    main()
