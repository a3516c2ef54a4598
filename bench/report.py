"""Renders one benchmark result as the table in docs/performance.md (targets from issue 9)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _get(res: dict[str, Any], *path: str) -> float:
    cur: Any = res
    for p in path:
        if not isinstance(cur, dict) or p not in cur:
            return float("nan")
        cur = cur[p]
    return float(cur) if isinstance(cur, int | float) else float("nan")


def rows(res: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    a = _get(res, "a_raw_consume_events_per_s")
    b = _get(res, "b_monitor", "events_per_s")
    c = _get(res, "c_faust", "events_per_s")
    d = _get(res, "d_replay", "events_per_s")
    ten_m = 10_000_000 / d if d == d and d > 0 else float("nan")

    def ok(cond: bool) -> str:
        return "met" if cond else "**missed**"

    p99 = _get(res, "live", "p99_event_to_alert_s")
    if not _get(res, "live", "alerts_observed") > 0:
        p99 = float("nan")  # no alert raised during the live run: nothing was measured
    rss = _get(res, "live", "peak_rss_mb")
    speed = _get(res, "scale_out", "speedup")
    sim_file = _get(res, "simulator_file_events_per_s")
    sim_kafka = _get(res, "simulator_kafka_events_per_s")
    export_s = _get(res, "export", "total_export_s")
    return [
        ("(a) bare consume", f"{a:,.0f} ev/s", "ceiling", ""),
        ("(b) monitor, one process", f"{b:,.0f} ev/s", ">= 50,000 ev/s", ok(b >= 50_000)),
        ("(b) / (a)", f"{b / a:.2f}", ">= 0.5", ok(b / a >= 0.5)),
        ("(c) faust-streaming peer", f"{c:,.0f} ev/s", "", ""),
        ("(b) / (c)", f"{b / c:.1f}", ">= 10", ok(b / c >= 10)),
        ("(d) replay", f"{d:,.0f} ev/s ({_get(res, 'd_replay', 'events'):,.0f} events)", "", ""),
        ("(d) 10M events", f"{ten_m:,.0f} s", "< 240 s", ok(ten_m < 240)),
        ("p50 event-to-alert @ 2,000 ev/s", f"{_get(res, 'live', 'p50_event_to_alert_s'):.3f} s", "", ""),
        ("p99 event-to-alert @ 2,000 ev/s", f"{p99:.3f} s", "<= 1 s", ok(p99 <= 1.0)),
        ("peak RSS (18,000 agencies)", f"{rss:,.0f} MB", "<= 500 MB", ok(rss <= 500)),
        ("two workers / one worker", f"{speed:.2f}", ">= 1.6", ok(speed >= 1.6)),
        ("simulator to file", f"{sim_file:,.0f} ev/s", ">= 100,000", ok(sim_file >= 100_000)),
        ("simulator to Kafka", f"{sim_kafka:,.0f} ev/s", ">= 50,000", ok(sim_kafka >= 50_000)),
        ("monthly export (25M events' aggregates)", f"{export_s:.1f} s", "< 60 s", ok(export_s < 60)),
    ]


def write_report(res: dict[str, Any], path: Path) -> None:
    m = res.get("machine", {})
    lines = [
        "# Performance",
        "",
        "Measured by `make bench` (`python -m bench`) on the local stack (real Kafka, Redis), all figures",
        "from ONE run on the same data; ratios are what the targets are about (the machine is shared",
        "and noisy).",
        "",
        f"- run: {res.get('started')}, {res.get('events', 0):,} simulated events (with scenarios)",
        f"- machine: {m.get('cpus')} CPUs, {m.get('processor')}, {m.get('platform')}, "
        f"Python {m.get('python')}",
        f"- command: `{res.get('command')}`; raw numbers: `bench/results/`",
        "",
        "| measure | result | target | |",
        "|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows(res)]
    notes = res.get("notes")
    if notes:
        lines += ["", "## Notes", "", str(notes)]
    path.write_text("\n".join(lines) + "\n")
