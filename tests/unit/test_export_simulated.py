"""Simulated traffic (the team simulator, and a small hand-made generator): every exported count equals
an independent count of the raw JSONL.

Two paths over the same file:
  1. the product path: decoder -> (dedup, first-of-family, join, leak verdict as the runtime does)
     -> MonthlyAggregator -> export_month -> the JSON export;
  2. a deliberately plain counter that reads the JSONL with `json` and counts with dicts.
The leak verdict is an input to the aggregator (the runtime decides it), so both paths share its rule.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from stream.agencies import AgencyRegistry
from stream.aggregates import MonthlyAggregator
from stream.decode import Decoder
from stream.export.writer import export_month
from stream.pseudonymize import Pseudonymizer
from stream.records import Query, Response

RESTRICTED = {"NY", "IL", "MA", "MN", "WA"}
IMMIGRATION = {"ICE-ERO", "HSI", "CBP", "USBP"}
FEDERAL = {*IMMIGRATION, "FBI", "DEA", "USMS", "other_federal"}
START = datetime(2026, 10, 29, tzinfo=UTC)  # crosses into November: two months in one file
STATES = ("WA", "OR", "CA", "NY", "TX", "IL", "AZ", "FL")
AGENCIES: list[tuple[str, dict[str, Any] | None]] = [
    ("WA0340000", {"category": "PD"}),
    ("OR0260000", {"category": "SO"}),
    ("XXSYNICE1", {"category": "FE", "component": "ICE-ERO", "immigration_enforcement": True}),
    ("XXSYNHSI1", {"category": "FE", "component": "HSI", "immigration_enforcement": True}),
    ("XXSYNCBP1", {"category": "FE", "component": "CBP", "immigration_enforcement": True}),
    ("XXSYNFBI1", {"category": "FE", "component": "FBI", "immigration_enforcement": False}),
    ("TX2270000", None),  # no enrichment and not in the registry: an unknown agency
]
OUTCOMES = ("HIT", "HIT", "HIT", "MULTI_HIT", "NOT_ON_FILE", "BLOCKED_BY_POLICY", "SM_02", "ACK_ONLY")


def _ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def generate(path: Path, n_logical: int = 600, seed: int = 11) -> None:
    """Queries (single, multi-destination and NL families), responses, duplicates, strays."""
    rnd = random.Random(seed)
    lines: list[dict[str, Any]] = []
    for i in range(n_logical):
        ori, agency = rnd.choice(AGENCIES)
        t = START + timedelta(seconds=rnd.randrange(5 * 86_400))
        face = rnd.random() < 0.05
        base = {
            "schema": "dmvq.query.v1",
            "source": "face" if face else "nlets",
            "originating_ori": ori,
            "message_key": "FRS" if face else rnd.choice(("RQ", "DQ", "DQ", "KQ", "DNQ")),
            "agency": agency,
            "image_requested": rnd.random() < 0.2,
            "search": {"mode": "face_image" if face else "plate", "subject_key": f"s{rnd.randrange(50)}"},
            "legal_predicate": {"type": rnd.choice(("none", "none", "judicial_warrant"))},
        }
        family = [{**base, "event_id": f"q{i}", "ts": _ts(t), "destinations": ["NL"]}]
        if rnd.random() < 0.15:  # multi-state: NL parent plus per-state children
            for s in rnd.sample(STATES, 3):
                family.append(
                    {
                        **base,
                        "event_id": f"q{i}-{s}",
                        "ts": _ts(t + timedelta(seconds=1)),
                        "destinations": [s],
                        "parent_query_id": f"q{i}",
                    }
                )
            rnd.shuffle(family)  # a child may arrive before its parent
        else:
            family[0]["destinations"] = rnd.sample(STATES, rnd.choice((1, 1, 1, 2)))
        for q in family:
            lines.append(q)
            for s in [d for d in q["destinations"] if d != "NL"][:1]:
                r = {
                    "schema": "dmvq.response.v1",
                    "event_id": f"r-{q['event_id']}",
                    "in_reply_to": q["event_id"],
                    "ts": _ts(t + timedelta(seconds=2)),
                    "responding_state": s,
                    "outcome": rnd.choice(OUTCOMES),
                    "photo_returned": rnd.random() < 0.1,
                }
                lines.insert(len(lines) - (rnd.random() < 0.1), r)  # sometimes before its query
        if rnd.random() < 0.05:
            lines.append(dict(rnd.choice(lines)))  # redelivery: same event_id
    for j in range(15):  # responses to queries the monitor never saw
        lines.append(
            {
                "schema": "dmvq.response.v1",
                "event_id": f"stray{j}",
                "in_reply_to": f"gone{j}",
                "ts": _ts(START + timedelta(hours=8 * j)),
                "responding_state": "CA",
                "outcome": "HIT",
            }
        )
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))


def leak_rule(answered: bool, state: str, immigration: bool, predicate: str) -> bool:
    return answered and state in RESTRICTED and immigration and predicate != "judicial_warrant"


def product_counters(path: Path) -> dict[str, dict[str, int]]:
    """What the runtime does, reduced to its essentials, feeding the real aggregator."""
    decoder = Decoder(Pseudonymizer(b"simulated-test-key-000"), AgencyRegistry())
    agg, seen, families = MonthlyAggregator(), set(), set()
    queries: dict[str, Query] = {}
    waiting: dict[str, list[Response]] = {}

    def respond(r: Response, q: Query | None) -> None:
        leak = q is not None and leak_rule(
            r.answered, r.responding_state, q.agency.immigration_enforcement, q.predicate
        )
        agg.on_response(r, q, leak)

    for line in path.read_bytes().splitlines():
        ev = decoder.decode(line)
        if ev.event_id in seen:
            continue
        seen.add(ev.event_id)
        if isinstance(ev, Query):
            ev.first_of_logical = ev.logical_id not in families
            families.add(ev.logical_id)
            queries[ev.event_id] = ev
            agg.on_query(ev)
            for r in waiting.pop(ev.event_id, []):
                respond(r, ev)
        elif ev.in_reply_to in queries:
            respond(ev, queries[ev.in_reply_to])
        else:
            waiting.setdefault(ev.in_reply_to, []).append(ev)
    for rs in waiting.values():
        for r in rs:
            respond(r, None)
    return agg.drain()


def _cls(outcome: str, leak: bool) -> str:
    if leak:
        return "answered_despite_policy"
    return {
        "HIT": "answered",
        "MULTI_HIT": "answered",
        "NOT_ON_FILE": "not_on_file",
        "BLOCKED_BY_POLICY": "blocked",
    }.get(outcome, "other")


def independent_tables(path: Path, month: str) -> dict[str, dict[tuple[Any, ...], Counter[str]]]:
    """Plain counting from the JSONL: no product code involved."""
    events: dict[str, dict[str, Any]] = {}
    for line in path.read_text().splitlines():
        e = json.loads(line)
        events.setdefault(e["event_id"], e)  # a redelivery is the same event: first copy counts
    queries = {k: e for k, e in events.items() if e["schema"] == "dmvq.query.v1"}
    t: dict[str, dict[tuple[Any, ...], Counter[str]]] = {
        n: {}
        for n in ("summary", "agencies", "component_state", "state_outcome", "message_keys", "photo_face")
    }

    def add(table: str, key: tuple[Any, ...], col: str, n: int = 1) -> None:
        t[table].setdefault(key, Counter())[col] += n

    def comp(q: dict[str, Any]) -> str:
        raw = (q.get("agency") or {}).get("component")
        return "none" if not raw else raw if raw in FEDERAL else "other_federal"

    def imm(q: dict[str, Any]) -> int:
        return int(bool((q.get("agency") or {}).get("immigration_enforcement")) or comp(q) in IMMIGRATION)

    families: set[str] = set()
    for q in queries.values():
        logical = q.get("parent_query_id") or q["event_id"]
        first = logical not in families
        families.add(logical)
        if q["ts"][:7] != month:
            continue
        ori, photo = q["originating_ori"], q.get("image_requested", False)
        face = q["message_key"] == "FRS" or q["source"] == "face" or q["search"]["mode"] == "face_image"
        add("summary", (), "query_events")
        add("agencies", (ori,), "query_events")
        if first:
            for col, yes in (("logical_queries", True), ("photo_requests", photo), ("face_searches", face)):
                add("summary", (), col, int(yes))
                add("agencies", (ori,), col, int(yes))
            add("message_keys", (q["message_key"],), "logical_queries")
            add("summary", (), "immigration_logical_queries", imm(q))
        for d in dict.fromkeys(d if len(d) == 2 else d[:2] for d in q["destinations"]):
            add("component_state", (comp(q), imm(q), d), "requests")
            add("message_keys", (q["message_key"],), "requests")
            add("summary", (), "immigration_requests", imm(q) * (d != "NL"))
            if photo:
                add("photo_face", (comp(q), d), "photo_requests")
            if face:
                add("photo_face", (comp(q), d), "face_searches")
    for r in (e for e in events.values() if e["schema"] == "dmvq.response.v1" and e["ts"][:7] == month):
        q = queries.get(r["in_reply_to"])
        answered = r["outcome"] in ("HIT", "MULTI_HIT")
        leak = q is not None and leak_rule(
            answered,
            r["responding_state"],
            bool((q.get("agency") or {}).get("immigration_enforcement")),
            (q.get("legal_predicate") or {}).get("type", "none"),
        )
        cls, st = _cls(r["outcome"], leak), r["responding_state"]
        ori, c, i = (q["originating_ori"], comp(q), imm(q)) if q else ("UNKNOWN", "none", 0)
        add("summary", (), "responses")
        add("summary", (), cls)
        add("summary", (), f"immigration_{cls}", i)
        add("agencies", (ori,), cls)
        add("component_state", (c, i, st), cls)
        add("state_outcome", (st, cls), "responses")
        if r.get("photo_returned"):
            add("summary", (), "photos_returned")
            add("agencies", (ori,), "photos_returned")
            add("photo_face", (c, st), "photos_returned")
    return t


KEYS = {"agencies": 1, "component_state": 3, "state_outcome": 2, "message_keys": 1, "photo_face": 2}


def exported_tables(doc: dict[str, Any]) -> dict[str, dict[tuple[Any, ...], Counter[str]]]:
    out: dict[str, dict[tuple[Any, ...], Counter[str]]] = {}
    summary = doc["tables"]["summary"]["rows"]
    out["summary"] = {(): Counter({metric: value for _m, metric, value in summary})}
    for name, nkey in KEYS.items():
        table = doc["tables"][name]
        cols = table["columns"]
        if name == "agencies":  # category/component/flag are descriptive, not part of the key
            cols = ["month", "ori", *cols[5:]]
            rows = [[r[0], r[1], *r[5:]] for r in table["rows"]]
        else:
            rows = table["rows"]
        out[name] = {
            tuple(r[1 : 1 + nkey]): Counter(dict(zip(cols[1 + nkey :], r[1 + nkey :], strict=True)))
            for r in rows
        }
    return out


def _nonzero(t: dict[tuple[Any, ...], Counter[str]]) -> dict[tuple[Any, ...], dict[str, int]]:
    return {k: {c: v for c, v in cnt.items() if v} for k, cnt in t.items() if any(cnt.values())}


def _compare(events: Path, month: str, out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    counters = product_counters(events)
    export_month(counters, month, out, ("json",), b"k")
    doc = json.loads((out / f"dmvq-{month}.json").read_text())
    got, want = exported_tables(doc), independent_tables(events, month)
    for name in want:
        assert _nonzero(got[name]) == _nonzero(want[name]), name
    return got, want


def test_simulated_month_counts_equal_independent_counts(tmp_path: Path) -> None:
    """The team's simulator (`dmvwatch simulate`), scaled down to a small but whole month."""
    from typer.testing import CliRunner

    from stream.cli import app

    events = tmp_path / "sim.jsonl"
    args = [
        "simulate",
        "--out",
        str(events),
        "--start",
        "2026-10-01T00:00:00Z",
        "--duration",
        "31d",
        "--scale",
        "0.0005",
        "--agencies",
        "400",
        "--seed",
        "5",
        "--enrich",
        "--duplicate-share",
        "0.01",
        "--quiet",
    ]
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 0, run.output
    _got, want = _compare(events, "2026-10", tmp_path / "out")
    summary = want["summary"][()]
    assert summary["query_events"] > 5000 and summary["responses"] > 5000
    assert summary["logical_queries"] < summary["query_events"]  # multi-state families present


@pytest.mark.parametrize("month", ["2026-10", "2026-11"])
def test_every_exported_count_equals_an_independent_count(tmp_path: Path, month: str) -> None:
    events = tmp_path / "events.jsonl"
    generate(events)
    got, want = _compare(events, month, tmp_path / "out")
    assert want["summary"][()]["answered_despite_policy"] > 0  # the file exercises leaks ...
    assert want["summary"][()]["logical_queries"] < want["summary"][()]["query_events"]  # ... and families
    assert ("UNKNOWN",) in got["agencies"]
