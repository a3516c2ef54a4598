"""`make eval` (`python -m stream.evaluation`): detection quality of every detector, measured.

For each seed: the simulator (in-process, the same code as `dmvwatch simulate`) writes its agency
registry to a temporary file (as `--registry-out` does) and produces a national week of background with
the labelled scenarios of the eval file(s); every line goes through the in-process `Replayer` (the live
worker's decoder, pipeline and detectors, policy pack from settings); the alerts are scored against the
labels by `stream.eval_score`. Seeds run in parallel worker processes. The report is printed and its
generated part is written between markers in docs/detection-quality.md (the diagnosis around it stays).
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from stream.eval_score import AlertRow, Label, Score, score

DEFAULT_SCENARIOS = (Path("deploy/scenarios/eval-3d.yaml"),)
DEFAULT_DOC = Path("docs/detection-quality.md")


@dataclass
class EvalConfig:
    seeds: tuple[int, ...] = (1, 2, 3)
    scale: float = 0.02
    duration_s: float = 7 * 86_400.0
    agencies: int = 18_000
    scenarios: tuple[Path, ...] = DEFAULT_SCENARIOS
    slack_s: float = 3600.0
    policy: Path = Path("deploy/policies/policy.yaml")
    start: datetime = datetime(2026, 10, 1, tzinfo=UTC)


@dataclass
class SeedRun:
    seed: int
    events: int  # events accepted by the decoder
    injected: int  # events the scenarios added (queries, children, responses)
    alerts: list[AlertRow]
    labels: list[Label]
    cpu_s: float
    raw_alerts: list[dict[str, Any]] = field(default_factory=list)  # alert.v1 bodies, for --dump
    raw_labels: list[dict[str, Any]] = field(default_factory=list)

    @property
    def benign(self) -> int:
        return max(0, self.events - self.injected)


@dataclass
class EvalResult:
    config: EvalConfig
    runs: list[SeedRun] = field(default_factory=list)
    score: Score = field(default_factory=Score)
    wall_s: float = 0.0
    revision: str = ""  # the detectors under test are those of this tree

    @property
    def benign(self) -> int:
        return sum(r.benign for r in self.runs)

    @property
    def events(self) -> int:
        return sum(r.events for r in self.runs)


def _core(registry: Path, policy: Path) -> Any:
    from stream.app import build_core
    from stream.settings import load_settings

    settings = load_settings(None, policy_path=policy)
    settings.runtime.registry_path = registry
    return build_core(settings, live=False)


def run_seed(cfg: EvalConfig, seed: int) -> SeedRun:
    """Simulate one seed and replay it; the scenario hook only counts what the scenarios inject."""
    from stream.replay import Replayer
    from stream.simulate.agencies import write_registry
    from stream.simulate.engine import SimConfig, Simulation
    from stream.simulate.spec import load_specs

    t0 = time.process_time()
    specs = [s for path in cfg.scenarios for s in load_specs(path)]
    sim = Simulation(
        SimConfig(
            seed=seed,
            start=cfg.start,
            duration_s=cfg.duration_s,
            agencies=cfg.agencies,
            scale=cfg.scale,
            scenarios=specs,
        )
    )
    injected = [0]
    scenario_minute = sim.scenarios.minute

    def counted(t: int, t1: int) -> None:
        before = len(sim.factory.pending)
        scenario_minute(t, t1)
        injected[0] += len(sim.factory.pending) - before

    sim.scenarios.minute = counted  # type: ignore[method-assign,assignment]
    with tempfile.TemporaryDirectory(prefix="dmvwatch-eval-") as tmp:
        registry = Path(tmp) / "registry.jsonl"
        write_registry(sim.registry, registry)
        replayer = Replayer(_core(registry, cfg.policy))
        for lines in sim.run():
            for line in lines:
                replayer.feed(line)
        replayer.finish()
    raw = [a.to_json_dict() for a in replayer.result.alerts.values()]
    alerts = [AlertRow.from_json(a) for a in raw]
    labels = [Label.from_json(row) for row in sim.labels()]
    cpu = time.process_time() - t0
    return SeedRun(seed, replayer.result.events, injected[0], alerts, labels, cpu, raw, sim.labels())


def evaluate(cfg: EvalConfig, jobs: int = 2, on_seed: Any = None) -> EvalResult:
    result = EvalResult(cfg, revision=_revision())
    t0 = time.perf_counter()
    if jobs <= 1 or len(cfg.seeds) == 1:
        runs = (run_seed(cfg, s) for s in cfg.seeds)
        for run in runs:
            _collect(result, run, on_seed)
    else:
        with ProcessPoolExecutor(max_workers=min(jobs, len(cfg.seeds))) as pool:
            for run in pool.map(run_seed, [cfg] * len(cfg.seeds), cfg.seeds):
                _collect(result, run, on_seed)
    result.wall_s = time.perf_counter() - t0
    return result


def _revision() -> str:
    """`git describe` of the tree (with -dirty: uncommitted detector edits change the figures)."""
    import subprocess

    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def _collect(result: EvalResult, run: SeedRun, on_seed: Any) -> None:
    result.runs.append(run)
    result.score.add(score(run.alerts, run.labels, result.config.slack_s))
    if on_seed is not None:
        on_seed(run)


def main(
    seeds: Annotated[int, typer.Option(help="Number of seeds (1..N).")] = 3,
    scale: Annotated[float, typer.Option(help="Simulator volume scale (1.0 = national volume).")] = 0.02,
    days: Annotated[float, typer.Option(help="Simulated days of background per seed.")] = 7.0,
    agencies: Annotated[int, typer.Option(help="Synthetic agencies.")] = 18_000,
    scenarios: Annotated[list[Path] | None, typer.Option(help="Scenario YAML (repeatable).")] = None,
    slack: Annotated[float, typer.Option(help="Seconds of slack around each label's [start, end].")] = 3600.0,
    policy: Annotated[Path, typer.Option(help="Policy pack.")] = Path("deploy/policies/policy.yaml"),
    jobs: Annotated[int, typer.Option(help="Worker processes (one seed each).")] = 2,
    doc: Annotated[str, typer.Option(help="Markdown report to update ('' for none).")] = str(DEFAULT_DOC),
    dump: Annotated[Path | None, typer.Option(help="Folder for each seed's alerts and labels.")] = None,
    block: Annotated[str, typer.Option(help="Generated block of --doc to replace (eval, spike).")] = "eval",
) -> None:
    """Run the labelled scenarios over a week of background per seed and report detection quality."""
    from rich.console import Console

    from stream.eval_report import console_tables, write_doc

    console = Console(stderr=True)
    cfg = EvalConfig(
        seeds=tuple(range(1, seeds + 1)),
        scale=scale,
        duration_s=days * 86_400.0,
        agencies=agencies,
        scenarios=tuple(scenarios or DEFAULT_SCENARIOS),
        slack_s=slack,
        policy=policy,
    )

    def report(run: SeedRun) -> None:
        console.print(
            f"seed {run.seed}: {run.events:,} events, {run.benign:,} benign, "
            f"{len(run.alerts)} alerts, {len(run.labels)} labels, {run.cpu_s:.0f} s CPU"
        )

    result = evaluate(cfg, jobs, report)
    if dump is not None:
        _dump(result, dump)
    for table in console_tables(result):
        Console().print(table)
    if doc:  # a str, not a Path: Path('') would be '.', and the report would be written to a directory
        write_doc(result, Path(doc), block)
        console.print(f"written: {doc}")


def _dump(result: EvalResult, folder: Path) -> None:
    import orjson

    folder.mkdir(parents=True, exist_ok=True)
    for run in result.runs:
        for name, rows in (("alerts", run.raw_alerts), ("labels", run.raw_labels)):
            body = b"".join(orjson.dumps(r, option=orjson.OPT_SORT_KEYS) + b"\n" for r in rows)
            (folder / f"seed{run.seed}-{name}.jsonl").write_bytes(body)


if __name__ == "__main__":
    typer.run(main)
