"""Every generated event validates against the shared contract (jsonschema, Draft 2020-12, date-time
format checked), scenario events included; the deliberately malformed lines all fail."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson

from stream.simulate.engine import SimConfig
from tests.unit.simulate_support import eval_specs, read_lines, run_to_file, validate_line, validators


def test_format_checking_is_really_on() -> None:
    ok = {
        "schema": "dmvq.response.v1",
        "event_id": "r1",
        "ts": "2026-10-01T00:00:00.000Z",
        "in_reply_to": "q1",
        "responding_state": "WA",
        "outcome": "HIT",
    }
    v = validators()["dmvq.response.v1"]
    assert v.is_valid(ok)
    assert not v.is_valid({**ok, "ts": "2026-10-01 noon"})


def test_every_event_of_every_scenario_validates(tmp_path: Path) -> None:
    # eval.yaml fits in one day; a tiny scale keeps the background small while scenarios run in full
    cfg = SimConfig(
        seed=11, duration_s=86_400, scale=0.004, clear_text_share=0.2, enrich=True, scenarios=eval_specs()
    )
    sim = run_to_file(cfg, tmp_path / "eval.jsonl")
    lines = read_lines(tmp_path / "eval.jsonl")
    bad = [line for line in lines if validate_line(line) is None]
    assert bad == []
    kinds = Counter(orjson.loads(line)["schema"] for line in lines)
    assert kinds["dmvq.query.v1"] == sim.stats.queries and kinds["dmvq.response.v1"] == sim.stats.responses
    # the scenario events are in there: every labelled ORI with queries shows up in the output
    oris = {orjson.loads(line).get("originating_ori") for line in lines}
    for label in sim.labels():
        if label["queries"]:
            assert label["ori"] in oris, label["scenario"]


def test_clear_text_events_carry_synthetic_people_and_still_validate(tmp_path: Path) -> None:
    sim = run_to_file(
        SimConfig(seed=5, duration_s=1800, scale=0.02, agencies=2000, clear_text_share=1.0),
        tmp_path / "clear.jsonl",
    )
    queries = [orjson.loads(x) for x in read_lines(tmp_path / "clear.jsonl") if b'"dmvq.query.v1"' in x]
    assert len(queries) == sim.stats.queries > 50
    with_text = [q for q in queries if {"name", "oln", "plate"} & set(q["search"])]
    assert len(with_text) >= 0.9 * len([q for q in queries if q["search"]["mode"] != "partial_plate"])
    assert all(validate_line(orjson.dumps(q)) is not None for q in queries)


def test_malformed_lines_fail_and_everything_else_passes(tmp_path: Path) -> None:
    cfg = SimConfig(
        seed=9, duration_s=3600, scale=0.02, agencies=2000, malformed_share=0.02, duplicate_share=0.02
    )
    sim = run_to_file(cfg, tmp_path / "faulty.jsonl")
    lines = read_lines(tmp_path / "faulty.jsonl")
    invalid = [line for line in lines if validate_line(line) is None]
    assert len(invalid) == sim.stats.events["malformed"] > 10
    valid = len(lines) - len(invalid)
    assert valid == sim.stats.queries + sim.stats.responses + sim.stats.events["duplicate"]
