"""Offline evaluation of the behavioural detectors: benign background from `synth_national`, injected
patterns with labels, and a runner that feeds everything like the pipeline does (time order with
jitter inside the allowed lateness, aligned watermarks) and scores findings against the labels.

    .venv/bin/python -m tests.unit.synth_eval --agencies 3000 --days 10
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

from stream.detectors.agency_spike import AgencySpike
from stream.detectors.base import Detector, DetectorContext
from stream.detectors.bulk_sweep import BulkSweep
from stream.detectors.feed_silence import FeedSilence
from stream.detectors.new_requester import NewRequester
from stream.findings import Finding
from stream.records import Agency, Query
from tests.unit.factories import T0
from tests.unit.synth_national import DAY, HOUR, SynthAgency, benign, build_agencies, query

KINDS: tuple[type[Detector], ...] = (BulkSweep, AgencySpike, NewRequester, FeedSilence)


@dataclass
class Label:
    name: str
    detector: str
    ori: str | None
    t0: float
    t1: float


def detectors(**overrides: dict) -> list[Detector]:
    return [k(k.params_model(**overrides.get(k.kind, {})), DetectorContext(policy=None)) for k in KINDS]


def run(events: Iterable[Query], dets: list[Detector], lateness: float = 300.0, tick: float = 60.0,
        jitter: float = 0.0, seed: int = 5, tail_s: float = 2 * DAY) -> list[Finding]:  # fmt: skip
    """Feed queries (in time order, optionally shuffled by up to `jitter` s) with pipeline watermarks."""
    rng, out, wm, max_ts = random.Random(seed), [], -math.inf, -math.inf
    delayed: list[tuple[float, int, Query]] = []
    for i, q in enumerate(events):
        heapq.heappush(delayed, (q.ts + rng.random() * jitter, i, q))
        while delayed and delayed[0][0] <= q.ts:
            _, _, e = heapq.heappop(delayed)
            max_ts = max(max_ts, e.ts)
            aligned = math.floor((max_ts - lateness) / tick) * tick
            if aligned > wm:
                wm = aligned
                for d in dets:
                    out.extend(d.on_watermark(wm))
            if e.ts >= wm:
                for d in dets:
                    out.extend(d.on_query(e))
    for _, _, e in sorted(delayed):
        for d in dets:
            out.extend(d.on_query(e))
    end = max_ts + tail_s
    while wm < end:  # the wall clock keeps moving after the last event, as in the live runtime
        wm += tick * 10
        for d in dets:
            out.extend(d.on_watermark(wm))
    return out


def _burst(a: SynthAgency, t0: float, n: int, span: float, rng: random.Random, tag: str,
           ops: list[str] | None = None, key: str = "RQ", mode: str = "plate",
           pattern_fn: Callable[[int], str] | None = None) -> list[Query]:  # fmt: skip
    """`n` distinct-subject queries spread over `span` seconds from `a` (operators round-robin)."""
    out = []
    for i in range(n):
        q = query(a, t0 + span * (i + rng.random()) / n, rng, f"{tag}-{i}")
        op = ops[i % len(ops)] if ops else None
        out.append(replace(q, message_key=key, search_mode=mode, operator_id=op,
                           pattern=pattern_fn(i) if pattern_fn else None,
                           subject_key=None if key == "RPQ" else f"{tag}s{i}"))  # fmt: skip
    return out


def inject(agencies: list[SynthAgency], days: int, seed: int = 9) -> tuple[list[Query], list[Label]]:
    """One instance of each pattern, placed after warm-up on mid-sized agencies."""
    rng = random.Random(seed)
    mid = sorted((a for a in agencies if 20 < a.daily < 400 and a.agency.category in ("PD", "SO")),
                 key=lambda a: a.daily)  # fmt: skip
    fed = [a for a in agencies if a.agency.component == "ICE-ERO" and a.daily > 30] or mid
    nj = [a for a in agencies if a.agency.category == "NJ"] or mid
    base = T0 + (days - 2) * DAY
    W = "ABCDEFGHJKLMNPRSTUVWXYZ"
    qs: list[Query] = []
    labels: list[Label] = []

    def add(name: str, det: str, a: SynthAgency | None, evs: list[Query], ori: str | None = None) -> None:
        qs.extend(evs)
        labels.append(Label(name, det, ori or (a.agency.ori if a else None), min(q.ts for q in evs),
                            max(q.ts for q in evs)))  # fmt: skip

    add("sweep_1h", "bulk_sweep", mid[-1], _burst(mid[-1], base + 10 * HOUR, 150, HOUR, rng, "sw", ["opX"]))
    add(
        "low_and_slow",
        "bulk_sweep",
        mid[-2],
        _burst(mid[-2], base + 2 * HOUR, 25 * 8, 8 * HOUR, rng, "ls", ["opY"]),
    )
    add(
        "split_ops",
        "bulk_sweep",
        mid[-3],
        _burst(mid[-3], base + 13 * HOUR, 150, HOUR, rng, "sp", [f"opZ{k}" for k in range(6)]),
    )
    add(
        "dnq_alphabet",
        "bulk_sweep",
        mid[-4],
        _burst(
            mid[-4],
            base + 9 * HOUR,
            60,
            HOUR,
            rng,
            "dn",
            ["opD"],
            key="DNQ",
            mode="name_only",
            pattern_fn=lambda i: f"{W[i // 23 % 23]}{W[i % 23]}*",
        ),
    )
    add(
        "rpq_walk",
        "bulk_sweep",
        mid[-5],
        _burst(
            mid[-5],
            base + 15 * HOUR,
            30,
            HOUR,
            rng,
            "rp",
            None,
            key="RPQ",
            mode="partial_plate",
            pattern_fn=lambda i: f"KT{W[i // 23 % 23]}{W[i % 23]}*",
        ),
    )
    add(
        "save_nj",
        "bulk_sweep",
        nj[0],
        _burst(nj[0], base + 14 * HOUR, 300, 2 * HOUR, rng, "nj", ["opS"], key="DQ", mode="name_dob_sex"),
    )
    spike = fed[0]
    add("spike_3x", "agency_spike", spike,
        [query(spike, base + DAY + 9 * HOUR + 4 * HOUR * rng.random(), rng, f"spk{i}")
         for i in range(max(60, int(2.2 * spike.daily * 4 * 0.09)))])  # fmt: skip
    newbie = SynthAgency(
        Agency("XXSYN9999", "FE", "ICE-ERO", None, True, False), 20, "America/Chicago", [], True
    )
    add(
        "new_federal",
        "new_requester",
        newbie,
        [query(newbie, base + 20 * HOUR + i * 180, rng, f"nw{i}") for i in range(20)],
    )
    return qs, labels


def merged(
    agencies: list[SynthAgency], days: int, extra: list[Query], silence: tuple[float, float] | None
) -> Iterator[Query]:
    extra = sorted(extra, key=lambda q: q.ts)
    for q in heapq.merge(benign(agencies, days), extra, key=lambda q: q.ts):
        if silence is None or not silence[0] <= q.ts < silence[1]:
            yield q


def score(findings: list[Finding], labels: list[Label]) -> tuple[dict[str, bool], list[Finding]]:
    found, unmatched = {lb.name: False for lb in labels}, []
    last = max((f.window_start for f in findings if f.detector == "feed_silence"), default=None)
    for f in findings:
        if f.detector == "feed_silence" and f.window_start == last and f.evidence.get("still_silent"):
            continue  # the end of the generated data, not a silence of the feed
        hit = [lb for lb in labels if lb.detector == f.detector and (lb.ori is None or lb.ori == f.ori)
               and f.window_start <= lb.t1 + HOUR and f.window_end >= lb.t0 - HOUR]  # fmt: skip
        for lb in hit:
            found[lb.name] = True
        if not hit:
            unmatched.append(f)
    return found, unmatched


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agencies", type=int, default=2000)
    ap.add_argument("--days", type=int, default=10)
    ap.add_argument("--benign-only", action="store_true")
    args = ap.parse_args()
    ags = build_agencies(args.agencies)
    extra, labels = ([], []) if args.benign_only else inject(ags, args.days)
    quiet = T0 + (args.days - 1) * DAY + 3 * HOUR
    silence = None if args.benign_only else (quiet, quiet + 0.75 * HOUR)
    if silence:
        labels.append(Label("silence_45m", "feed_silence", None, *silence))
    count = Counter[str]()
    stream = (count.update(["events"]) or q for q in merged(ags, args.days, extra, silence))
    findings = run(stream, detectors(), jitter=120.0)
    found, unmatched = score(findings, labels)
    kinds = Counter(f.detector for f in findings)
    print(f"events={count['events']} findings={len(findings)} by kind={kinds}")
    print("found:", found)
    for f in unmatched:
        print("UNMATCHED", f.detector, f.group_key, f.window_start - T0, f.evidence)


if __name__ == "__main__":
    main()


def steps_for(
    queries: list[Query], lateness: float = 300.0, tick: float = 60.0, tail_s: float = 2 * DAY
) -> list:
    """Detector-test steps (`tests.unit.detector_steps`): queries in the given (arrival) order with the
    pipeline's aligned watermarks, then the watermark keeps moving for `tail_s` (idle wall clock)."""
    out: list = []
    wm, max_ts = -math.inf, -math.inf
    for q in queries:
        max_ts = max(max_ts, q.ts)
        aligned = math.floor((max_ts - lateness) / tick) * tick
        if aligned > wm:
            wm = aligned
            out.append(("wm", wm))
        if q.ts >= wm:  # the pipeline sends late events only to late-safe detectors
            out.append(("q", q))
    end = max_ts + tail_s
    while wm < end:
        wm += 10 * tick
        out.append(("wm", wm))
    return out


def score_replay(
    alerts_path: str, labels_path: str, kinds: tuple[str, ...] = tuple(k.kind for k in KINDS)
) -> None:
    """Score `dmvwatch replay --alerts-out` against `dmvwatch simulate --labels-out` for our kinds."""
    import json
    from datetime import datetime

    def ts(text: str) -> float:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    with open(labels_path) as fh:
        labels = [json.loads(line) for line in fh]
    with open(alerts_path) as fh:
        alerts = [a for a in map(json.loads, fh) if a["detector"] in kinds]
    for lb in labels:
        if lb["detector"] in kinds:
            hits = [a for a in alerts if _matches(a, lb, ts)]
            verdict = "FOUND" if hits else "MISSED"
            print(f"{verdict} {lb['scenario']} {lb['detector']} {lb.get('ori')} {lb['start']}")
    for a in alerts:
        if not any(_matches(a, lb, ts) for lb in labels):
            print(
                "UNMATCHED", a["detector"], a["group_key"], a["window_start"], json.dumps(a["evidence"])[:300]
            )


def _matches(a: dict, lb: dict, ts: Callable[[str], float]) -> bool:
    return (
        a["detector"] == lb["detector"]
        and (not lb.get("ori") or a["ori"] == lb["ori"])
        and ts(a["window_start"]) <= ts(lb["end"]) + HOUR
        and ts(a["window_end"]) >= ts(lb["start"]) - HOUR
    )
