"""Same seed and options -> byte-identical output, registry and labels; another seed -> different."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from stream.cli import app
from stream.simulate.engine import SimConfig
from tests.unit.simulate_support import DEMO_YAML, read_lines, run_to_file

ARGS = [
    "simulate",
    "--duration",
    "10h",
    "--scale",
    "0.004",
    "--agencies",
    "3000",
    "--seed",
    "7",
    "--clear-text-share",
    "0.2",
    "--malformed-share",
    "0.01",
    "--duplicate-share",
    "0.01",
    "--quiet",
]


def _cli_run(tmp: Path, tag: str, *extra: str) -> tuple[bytes, bytes, bytes]:
    out, reg, lab = tmp / f"{tag}.jsonl.gz", tmp / f"{tag}.reg.jsonl", tmp / f"{tag}.labels.jsonl"
    result = CliRunner().invoke(
        app, [*ARGS, *extra, "--out", str(out), "--registry-out", str(reg), "--labels-out", str(lab)]
    )
    assert result.exit_code == 0, result.output
    return out.read_bytes(), reg.read_bytes(), lab.read_bytes()


def test_cli_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    first = _cli_run(tmp_path, "a", "--scenarios", str(DEMO_YAML), "--start", "2026-10-01T00:00:00Z")
    second = _cli_run(tmp_path, "b", "--scenarios", str(DEMO_YAML), "--start", "2026-10-01T00:00:00Z")
    assert first == second
    assert len(first[0]) > 1000 and first[1] and first[2]


def test_another_seed_gives_other_traffic(tmp_path: Path) -> None:
    a = run_to_file(SimConfig(seed=1, duration_s=1800, scale=0.02, agencies=2000), tmp_path / "a.jsonl")
    b = run_to_file(SimConfig(seed=2, duration_s=1800, scale=0.02, agencies=2000), tmp_path / "b.jsonl")
    assert read_lines(tmp_path / "a.jsonl") != read_lines(tmp_path / "b.jsonl")
    assert a.stats.queries > 100 and b.stats.queries > 100


def test_options_that_add_faults_do_not_shift_background_draws(tmp_path: Path) -> None:
    """Independent random streams: turning on redeliveries keeps every original event as it was."""
    start = datetime(2026, 10, 2, 12, tzinfo=UTC)
    base = SimConfig(seed=3, start=start, duration_s=1800, scale=0.02, agencies=2000)
    dup = SimConfig(seed=3, start=start, duration_s=1800, scale=0.02, agencies=2000, duplicate_share=0.05)
    run_to_file(base, tmp_path / "base.jsonl")
    sim = run_to_file(dup, tmp_path / "dup.jsonl")
    plain, with_dups = read_lines(tmp_path / "base.jsonl"), read_lines(tmp_path / "dup.jsonl")
    assert set(with_dups) == set(plain)
    assert len(with_dups) == len(plain) + sim.stats.events["duplicate"] > len(plain)
