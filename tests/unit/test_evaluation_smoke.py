"""Smoke run of the detection-quality harness (`make eval`): one seed, the full registry at tiny scale over
the one-day eval set. It checks that the harness runs end to end (simulator -> replay -> scoring ->
report) and reports every detector; it does not assert quality targets (that is `make eval`'s job)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stream.eval_report import BEGIN, DETECTORS, END, detector_rows, write_doc
from stream.evaluation import EvalConfig, evaluate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    cfg = EvalConfig(
        seeds=(7,),
        scale=0.003,
        duration_s=86_400.0,
        agencies=18_000,
        scenarios=(ROOT / "deploy/scenarios/eval.yaml",),
        policy=ROOT / "deploy/policies/policy.yaml",
    )
    return evaluate(cfg, jobs=1)


def test_harness_reports_every_detector(result) -> None:  # type: ignore[no-untyped-def]
    (run,) = result.runs
    assert run.events > 0 and 0 < run.benign < run.events  # scenarios injected some, not all
    assert {lb.detector for lb in run.labels} == set(DETECTORS)  # the eval set labels every detector
    rows = detector_rows(result)
    assert [r[0] for r in rows] == list(DETECTORS)
    for name in DETECTORS:
        d = result.score.det(name)
        assert d.labels >= 1
        assert d.hits + d.false == d.alerts  # every alert is classified exactly once


def test_report_block_is_replaced_and_the_rest_kept(result, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    doc = tmp_path / "quality.md"
    doc.write_text("# Quality\n\nintro\n\n" + BEGIN + "\nold\n" + END + "\n\n## Diagnosis\nkept\n")
    write_doc(result, doc)
    text = doc.read_text()
    assert "intro" in text and "## Diagnosis\nkept" in text and "\nold\n" not in text
    assert all(f"| {name} |" in text for name in DETECTORS)
    assert text.count(BEGIN) == 1 and text.count(END) == 1


def test_a_bad_policy_in_a_worker_process_is_reported_as_the_policy_error(tmp_path: Path) -> None:
    """Seeds run in worker processes: the policy error must cross the process boundary intact."""
    from stream.errors import ConfigError

    shutil.copytree(ROOT / "deploy/policies", tmp_path / "policies")  # the pack's paths are relative
    bad = tmp_path / "policies/policy.yaml"
    text = bad.read_text(encoding="utf-8")
    bad.write_text(text.replace("min_count: 6", "min_count: -6", 1), encoding="utf-8")
    cfg = EvalConfig(seeds=(1, 2), scale=0.001, duration_s=3_600.0, agencies=18_000,
                     scenarios=(ROOT / "deploy/scenarios/eval.yaml",), policy=bad)  # fmt: skip
    with pytest.raises(ConfigError) as err:
        evaluate(cfg, jobs=2)
    assert err.value.source.endswith("policy.yaml") and "min_count" in err.value.field
