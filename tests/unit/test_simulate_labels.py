"""Ground-truth labels agree with the injected events, and background traffic carries no policy signal."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import pytest

from stream.simulate import switch
from stream.simulate.engine import SimConfig, Simulation
from stream.simulate.spec import load_specs
from tests.unit.simulate_support import REPO, eval_specs, read_lines, run_to_file


def _t(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Simulation, list[dict[str, Any]]]:
    path: Path = tmp_path_factory.mktemp("labels") / "eval.jsonl"
    sim = run_to_file(SimConfig(seed=21, duration_s=86_400, scale=0.01, scenarios=eval_specs()), path)
    return sim, [orjson.loads(x) for x in read_lines(path)]


def test_label_rows_are_well_formed(run: tuple[Simulation, list[dict[str, Any]]]) -> None:
    sim, _ = run
    detectors = json.loads(resources.files("stream").joinpath("schema/alert.v1.schema.json").read_text())[
        "properties"
    ]["detector"]["enum"]
    labels = sim.labels()
    assert {lab["kind"] for lab in labels} >= {s.kind for s in eval_specs()}
    assert len({lab["scenario"] for lab in labels}) == len(labels)
    for lab in labels:
        assert lab["detector"] in detectors
        assert _t(lab["start"]) <= _t(lab["end"])
        assert (lab["ori"] is None) == (lab["kind"] == "feed_silence")
    oris = [lab["ori"] for lab in labels if lab["ori"]] + [
        lab["related_ori"] for lab in labels if "related_ori" in lab
    ]
    assert len(oris) == len(set(oris)), "two scenarios share an ORI"
    assert set(detectors) == {lab["detector"] for lab in labels}, "every detector has a scenario"


def test_labelled_events_are_in_the_output(run: tuple[Simulation, list[dict[str, Any]]]) -> None:
    sim, events = run
    queries = [e for e in events if e["schema"] == "dmvq.query.v1"]
    by_ori: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for q in queries:
        by_ori[q["originating_ori"]].append(q)
    outcome = {e["in_reply_to"]: e for e in events if e["schema"] == "dmvq.response.v1"}
    registry = {a.ori for a in sim.registry}
    for lab in sim.labels():
        lo, hi = _t(lab["start"]), _t(lab["end"])
        mine = [
            q
            for q in by_ori.get(lab["ori"] or "", []) + by_ori.get(lab.get("related_ori", ""), [])
            if lo <= _t(q["ts"]) <= hi and q.get("parent_query_id") is None
        ]
        assert len(mine) >= lab["queries"], lab["scenario"]
        dest = lab["destination_state"]
        kind = lab["kind"]
        if kind in ("restricted_use", "policy_leak", "blocked_retry"):
            to_dest = [q for q in mine if q["destinations"] == [dest]]
            assert len(to_dest) >= lab["queries"]
            answers = Counter(outcome[q["event_id"]]["outcome"] for q in to_dest if q["event_id"] in outcome)
            if kind == "policy_leak":
                assert set(answers) == {"HIT"}
            elif kind == "blocked_retry":
                assert set(answers) == {"BLOCKED_BY_POLICY"}
        if kind == "pre_action_burst":
            subjects = Counter(q["search"].get("subject_key") for q in mine)
            assert subjects.most_common(1)[0][1] >= 5 and hi - lo <= 72 * 3600
        if kind == "new_requester":
            assert lab["ori"] not in registry and min(_t(q["ts"]) for q in by_ori[lab["ori"]]) >= lo
        if kind == "s2s_misuse" and lab["variant"] == "no_application":
            assert sum(q["in_person_application_id"] is None for q in mine) == lab["queries"]
        if kind == "feed_silence":
            assert not [e for e in events if lo <= _t(e["ts"]) < hi]


def test_background_has_no_restricted_access(run: tuple[Simulation, list[dict[str, Any]]]) -> None:
    """Restricted-state queries by immigration enforcement without a judicial predicate are all labelled."""
    sim, events = run
    registry = {a.ori: a for a in sim.registry}
    labelled = {lab["ori"] for lab in sim.labels()} | {lab.get("related_ori") for lab in sim.labels()}
    seen = 0
    for q in events:
        a = registry.get(q.get("originating_ori", ""))
        if q["schema"] != "dmvq.query.v1" or a is None:
            continue
        pred = (q.get("legal_predicate") or {}).get("type", "none")
        if any(
            switch.would_violate(d, a.component, a.immigration_enforcement, pred) for d in q["destinations"]
        ):
            assert q["originating_ori"] in labelled
            seen += 1
    assert seen > 0  # the scenarios did produce some


def test_s2s_without_application_only_in_scenarios(run: tuple[Simulation, list[dict[str, Any]]]) -> None:
    sim, events = run
    labelled = {lab["ori"] for lab in sim.labels() if lab["kind"] == "s2s_misuse"}
    s2s = [e for e in events if e.get("message_key") == "S2S" and e["schema"] == "dmvq.query.v1"]
    missing = {q["originating_ori"] for q in s2s if q["in_person_application_id"] is None}
    assert s2s and missing and missing <= labelled
    scenario_oris = {lab["ori"] for lab in sim.labels()}
    background = [q for q in s2s if q["originating_ori"] not in scenario_oris]
    placeholder = sum(q["search"]["ssn_last5"] == "99999" for q in background)
    assert 0 < placeholder < 0.1 * len(background)  # ~3% of applicants have no SSN


def test_every_response_answers_an_emitted_query(run: tuple[Simulation, list[dict[str, Any]]]) -> None:
    _, events = run
    ids = {e["event_id"] for e in events if e["schema"] == "dmvq.query.v1"}
    replies = [e["in_reply_to"] for e in events if e["schema"] == "dmvq.response.v1"]
    orphans = [r for r in replies if r not in ids]
    # only queries swallowed by the tap outage may leave orphan responses
    assert len(orphans) <= 0.01 * len(replies)


def test_three_day_eval_file_runs_every_scenario() -> None:
    specs = load_specs(REPO / "deploy" / "scenarios" / "eval-3d.yaml")
    sim = Simulation(SimConfig(seed=4, duration_s=3 * 86_400, scale=0.001, scenarios=specs))
    assert {lab["scenario"] for lab in sim.labels()} >= {s.name for s in specs if s.kind != "agency_spike"}


def test_scenarios_outside_the_run_are_not_labelled() -> None:
    sim = Simulation(SimConfig(seed=4, duration_s=3 * 3600, scale=0.001, scenarios=eval_specs()))
    assert {lab["scenario"] for lab in sim.labels()} == set()  # eval.yaml starts after a 6-hour warm-up


def test_background_investigators_revisit_people_but_never_five_times(
    run: tuple[Simulation, list[dict[str, Any]]],
) -> None:
    sim, events = run
    registry = {a.ori: a for a in sim.registry}
    scenario_oris = {lab["ori"] for lab in sim.labels()} | {lab.get("related_ori") for lab in sim.labels()}
    looks: Counter[tuple[str, str]] = Counter()
    for q in events:
        ori = q.get("originating_ori", "")
        if q["schema"] != "dmvq.query.v1" or ori in scenario_oris or q.get("parent_query_id"):
            continue
        if q["search"].get("subject_key"):
            looks[(ori, q["search"]["subject_key"])] += 1
    assert max(looks.values()) <= 4
    assert all(n <= 3 for (ori, _), n in looks.items() if registry[ori].immigration_enforcement)
    assert any(n >= 2 for (ori, _), n in looks.items() if registry[ori].profile == "fed_inv")
