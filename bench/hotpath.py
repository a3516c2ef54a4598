"""Per-event hot path in CPU time (issue 9): replay N lines, split the cost by stage and detector.

`python -m bench.hotpath FILE --registry REG [-n N] [--alerts-out F] [--profile]`. Prints events per
CPU-second (time.process_time, since the shared cores make wall time meaningless), the CPU spent in
decode, in each observer and in each detector hook, and the size and time of one `pipeline.snapshot()`.
`--alerts-out` writes the sorted alert ids with their evidence: the equivalence guard for optimizations.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import pstats
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson

Clock = defaultdict[str, float]


def _timed(fn: Any, name: str, acc: Clock) -> Any:
    clock = time.process_time

    def wrapper(*args: Any) -> Any:
        t = clock()
        try:
            return fn(*args)
        finally:
            acc[name] += clock() - t

    return wrapper


def _instrument(replayer: Any, acc: Clock) -> None:
    decoder = replayer.core.decoder
    decoder.decode = _timed(decoder.decode, "decode", acc)
    pipe = replayer.pipeline
    for obs in pipe.observers:
        name = type(obs).__name__
        obs.on_query = _timed(obs.on_query, f"obs.{name}", acc)
        obs.on_response = _timed(obs.on_response, f"obs.{name}", acc)
    for det in pipe.detectors:
        for hook in ("on_query", "on_response", "on_watermark"):
            setattr(det, hook, _timed(getattr(det, hook), f"det.{det.kind}", acc))


def build(registry: Path) -> Any:
    from stream.aggregates import MonthlyAggregator
    from stream.app import build_core
    from stream.metrics import Metrics
    from stream.replay import Replayer
    from stream.settings import load_settings

    core = build_core(load_settings(runtime={"registry_path": registry}), live=False)
    replayer = Replayer(core, MonthlyAggregator())
    replayer.pipeline.observers.append(Metrics())
    return replayer


def run(lines: list[bytes], registry: Path, instrument: bool) -> tuple[Any, dict[str, float], float]:
    replayer = build(registry)
    acc: Clock = defaultdict(float)
    if instrument:
        _instrument(replayer, acc)
    feed = replayer.feed
    t = time.process_time()
    for line in lines:
        feed(line)
    replayer.finish()
    return replayer, dict(acc), time.process_time() - t


def snapshot_cost(replayer: Any) -> dict[str, Any]:
    t = time.process_time()
    snap = replayer.pipeline.snapshot()
    body = orjson.dumps(snap)
    spent = time.process_time() - t
    sizes = {k: len(orjson.dumps(v)) for k, v in snap["detectors"].items()}
    top = sorted(sizes.items(), key=lambda kv: -kv[1])[:4]
    return {"cpu_s": round(spent, 3), "bytes": len(body), "top": top}


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.hotpath")
    ap.add_argument("file", type=Path)
    ap.add_argument("--registry", type=Path, required=True)
    ap.add_argument("-n", type=int, default=150_000)
    ap.add_argument("--alerts-out", type=Path)
    ap.add_argument("--profile", action="store_true", help="cProfile the uninstrumented run")
    ap.add_argument("--no-breakdown", action="store_true", help="skip the instrumented second run")
    args = ap.parse_args()
    with args.file.open("rb") as fh:
        lines = [ln.rstrip(b"\n") for ln in itertools.islice(fh, args.n)]
    n = len(lines)
    if args.profile:
        prof = cProfile.Profile()
        prof.runcall(run, lines, args.registry, False)
        prof.dump_stats(str(args.file.with_suffix(".prof")))
        pstats.Stats(prof).sort_stats("tottime").print_stats(35)
        return
    replayer, _, plain = run(lines, args.registry, False)
    alerts = len(replayer.result.alerts)
    print(f"events {n}  alerts {alerts}  cpu {plain:.2f}s  -> {n / plain:,.0f} events/cpu-s")
    if args.alerts_out:
        _write_alerts(replayer, args.alerts_out)
    if args.no_breakdown:
        return
    _, acc, total = run(lines, args.registry, True)
    print(f"instrumented cpu {total:.2f}s; per event (us) and share:")
    for name, s in sorted(acc.items(), key=lambda kv: -kv[1]):
        print(f"  {name:32s} {s / n * 1e6:8.2f} us  {s / total:6.1%}")
    print("snapshot", snapshot_cost(replayer))


def _write_alerts(replayer: Any, path: Path) -> None:
    with path.open("wb") as out:
        for aid in sorted(replayer.result.alerts):
            a = replayer.result.alerts[aid]
            out.write(orjson.dumps([aid, a.to_json_dict().get("evidence")], option=orjson.OPT_SORT_KEYS))
            out.write(b"\n")


if __name__ == "__main__":
    main()
