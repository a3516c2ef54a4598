"""Export of a month whose counters represent 25 million events from 18,000 agencies (issue 8).

The counters are bounded by agencies x destinations x message keys, not by events, so the export's cost
is the number of counter keys. This builds a representative month (heavy-tailed agency volumes; big
agencies reach many states; the event mix of domain brief 7.4), writes it as the file form, and times
`load_json` + every format + the signed manifest. Optionally (redis_url) also times reading it from Redis.

    python -m bench.bench_export            # prints the result dict
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from stream.aggregates import Delta

EVENTS = 25_000_000
AGENCIES = 18_000
MONTH = "2026-10"
_STATE_TEXT = """AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO
MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"""
STATES = tuple(_STATE_TEXT.split())
RESTRICTED = frozenset({"NY", "IL", "MA", "MN", "WA", "OR", "CO", "NJ", "CA"})  # domain brief 4.3
KEYS = (
    ("RQ", 0.59),
    ("DQ", 0.29),
    ("KQ", 0.04),
    ("DNQ", 0.015),
    ("RNQ", 0.01),
    ("RPQ", 0.005),
    ("S2S", 0.03),
    ("FRS", 0.005),
    ("IAQ", 0.015),
)
OUTCOMES = (("answered", 0.78), ("not_on_file", 0.19), ("other", 0.03))
# Immigration-enforcement requests to a restricting state: mostly blocked, a few answered anyway.
RESTRICTED_OUTCOMES = (
    ("blocked", 0.9),
    ("answered_despite_policy", 0.01),
    ("not_on_file", 0.05),
    ("other", 0.04),
)
FEDERAL = (
    ("CBP", 0.4),
    ("HSI", 0.1),
    ("ICE-ERO", 0.08),
    ("FBI", 0.2),
    ("DEA", 0.1),
    ("USMS", 0.07),
    ("other_federal", 0.05),
)


def _split(total: int, shares: tuple[tuple[str, float], ...]) -> list[tuple[str, int]]:
    out = [(name, int(total * s)) for name, s in shares]
    return [(n, v) for n, v in out if v]


def _agency(rnd: random.Random, i: int) -> tuple[str, str, str, int]:
    if i < 900:  # ~5% federal, ORIs with the synthetic XXSYN prefix
        comp = rnd.choices([c for c, _ in FEDERAL], [w for _, w in FEDERAL])[0]
        return f"XXSYN{i:04d}", "FE", comp, int(comp in ("CBP", "HSI", "ICE-ERO", "USBP"))
    cat = rnd.choices(("PD", "SO", "SA", "JA", "NJ"), (0.55, 0.22, 0.15, 0.05, 0.03))[0]
    return f"{rnd.choice(STATES)}{i:05d}{cat[0]}0"[:9], cat, "none", 0


def representative_month(seed: int = 8, events: int = EVENTS, agencies: int = AGENCIES) -> Delta:
    """Counters of one month: Zipf-like volumes summing to `events` query events."""
    rnd = random.Random(seed)
    weights = [1.0 / (k + 10) ** 0.9 for k in range(agencies)]
    scale = events / sum(weights)
    rnd.shuffle(weights)  # federal ORIs (the first 900) get volumes from the whole distribution
    c: dict[str, int] = {}
    for i in range(agencies):
        ori, cat, comp, imm = _agency(rnd, i)
        volume = max(1, int(weights[i] * scale))
        c[f"a|{ori}|{cat}|{comp}|{imm}"] = volume
        n_dest = max(1, min(len(STATES), round(volume**0.33)))
        dests = rnd.sample(STATES, n_dest)
        to_state: dict[str, int] = {}
        for mk, n in _split(volume, KEYS):
            c[f"l|{ori}|{comp}|{mk}|{int(rnd.random() < 0.1)}|{int(mk == 'FRS')}"] = int(n * 0.97)
            for d in dests[: max(1, n_dest * n // volume + 1)]:
                per = max(1, n // n_dest)
                c[f"q|{ori}|{comp}|{d}|{mk}"] = per
                if mk == "FRS":
                    c[f"f|{ori}|{comp}|{d}"] = per
                to_state[d] = to_state.get(d, 0) + per
        for d, per_state in to_state.items():
            mix = RESTRICTED_OUTCOMES if imm and d in RESTRICTED else OUTCOMES
            for outcome, n in _split(per_state, mix):
                c[f"o|{ori}|{comp}|{d}|{outcome}"] = n
            if per_state >= 10:
                c[f"p|{ori}|{comp}|{d}"] = per_state // 10
                c[f"pr|{ori}|{comp}|{d}"] = per_state // 14 if mix is OUTCOMES else 0
    for det in ("bulk_sweep", "agency_spike", "policy_leak", "policy_violation", "photo_face_match"):
        for sev in ("warning", "high"):
            c[f"al|{det}|{sev}|firing"] = rnd.randrange(5, 60)
        c[f"ak|{det}|n"] = 40
        c[f"ak|{det}|s"] = 40 * rnd.randrange(300, 9000)
    from stream.export.summary import trend_figures

    c = {k: v for k, v in c.items() if v > 0}
    # The month totals the aggregator keeps beside the detail (`s|` keys, read for the trend).
    c.update({f"s|{k}": v for k, v in trend_figures(c).items()})
    c["s|events"] = sum(v for k, v in c.items() if k.startswith(("a|", "o|")))
    return {MONTH: c}


def bench_export(tmpdir: str | Path, redis_url: str | None = None) -> dict[str, Any]:
    """Time a full export (all formats + manifest) of a 25M-event month, with two earlier months stored."""
    from stream.export.store import dump_json, load_json
    from stream.export.writer import export_month

    tmp = Path(tmpdir)
    t0 = time.perf_counter()
    months = representative_month()
    months["2026-09"] = representative_month(seed=9)[MONTH]
    months["2026-08"] = representative_month(seed=10)[MONTH]
    build_s = time.perf_counter() - t0
    src = tmp / "aggregates.json"
    dump_json(src, months)
    t1, c1 = time.perf_counter(), time.process_time()
    loaded = load_json(src)
    t2, c2 = time.perf_counter(), time.process_time()
    result = export_month(loaded, MONTH, tmp / "export", ("csv", "json", "html"), b"bench-signing-key")
    t3, c3 = time.perf_counter(), time.process_time()
    out: dict[str, Any] = {
        "events_represented": EVENTS,
        "agencies": AGENCIES,
        "counter_keys_month": len(months[MONTH]),
        "aggregates_file_bytes": src.stat().st_size,
        "build_counters_s": round(build_s, 2),
        "load_file_s": round(t2 - t1, 2),
        "export_all_formats_s": round(t3 - t2, 2),
        "total_export_s": round(t3 - t1, 2),
        # CPU seconds of this process: the figure that does not depend on other load on the machine.
        "load_file_cpu_s": round(c2 - c1, 2),
        "export_all_formats_cpu_s": round(c3 - c2, 2),
        "total_export_cpu_s": round(c3 - c1, 2),
        "output_files": len(result.files) + 1,
        "output_bytes": sum((result.out_dir / f).stat().st_size for f in result.files),
    }
    if redis_url:
        out.update(_bench_redis(redis_url, months, tmp / "export-redis"))
    return out


def _bench_redis(url: str, months: Delta, out: Path, chunk: int = 20_000) -> dict[str, Any]:
    """Stage the month through MULTI/EXECs of `chunk` counters (checkpoint-sized) under a throw-away
    prefix, time reading it back (what `dmvwatch export` does), then delete it."""
    import redis

    from stream.export.cli import read_for_export
    from stream.export.store import AggregateStore
    from stream.export.writer import export_month

    client = redis.Redis.from_url(url, socket_timeout=120)
    prefix = f"dmvqbench{int(time.time())}"
    store = AggregateStore(client, prefix=prefix)
    items = sorted(months[MONTH].items())
    try:
        t0 = time.perf_counter()
        for i in range(0, len(items), chunk):
            pipe = client.pipeline(transaction=True)
            store.stage(pipe, {MONTH: dict(items[i : i + chunk])})
            pipe.execute()
        t1 = time.perf_counter()
        assert store.read(MONTH) == months[MONTH]
        t2, c2 = time.perf_counter(), time.process_time()
        # The CLI path: read the month (and earlier months' s| totals), then export every format.
        export_month(read_for_export(store, MONTH), MONTH, out, ("csv", "json", "html"), b"bench-signing-key")
        t3, c3 = time.perf_counter(), time.process_time()
        return {
            "redis_stage_s": round(t1 - t0, 2),
            "redis_read_s": round(t2 - t1, 2),
            "redis_read_and_export_s": round(t3 - t2, 2),
            "redis_read_and_export_cpu_s": round(c3 - c2, 2),
        }
    finally:
        client.delete(store.key(MONTH), store.months_key)
        client.close()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as d:
        print(json.dumps(bench_export(d, sys.argv[1] if len(sys.argv) > 1 else None), indent=1))
