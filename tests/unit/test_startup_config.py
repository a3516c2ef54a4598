"""`dmvwatch run` refuses bad settings and policy files at start-up: non-zero exit, and an error that
names the file and the field (or line), before any connection is attempted.

The policy fixtures are the packs of tests/fixtures/policies/, given as a directory (`--policy pack/`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKS = ROOT / "tests" / "fixtures" / "policies"
# Unroutable addresses: if validation let a file through, the worker would hang or fail differently.
ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("DMVWATCH_")},
    "DMVWATCH_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:1",
    "DMVWATCH_REDIS__URL": "redis://127.0.0.1:1/0",
    "DMVWATCH_METRICS__PORT": "0",
    "COLUMNS": "400",
}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stream", "run", "--no-notify", *args],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("kafka:\n  batch_size: [1,\n", "line 3"),  # malformed YAML
        ("kafka:\n  bogus: 1\n", "kafka.bogus"),  # unknown key
        ("runtime:\n  checkpoint_interval_s: 0\n", "runtime.checkpoint_interval_s"),  # out of range
        ("redis:\n  socket_timeout_s: 999\n", "redis.socket_timeout_s"),
        ("nonsense_section: {}\n", "nonsense_section"),
    ],
)
def test_bad_settings_file_is_rejected_naming_file_and_field(tmp_path: Path, body: str, field: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(body)
    done = _run("--config", str(bad))
    out = " ".join((done.stdout + done.stderr).split())
    assert done.returncode != 0
    assert f"{bad}: {field}" in out, out


@pytest.mark.parametrize(
    ("pack", "file", "field"),
    [
        ("bad_date", "states/NY.yaml", "effective_from"),
        ("bad_version", "policy.yaml", "version"),
        ("duplicate_key", "states/NY.yaml", "duplicate key"),
        ("malformed_yaml", "states/NY.yaml", "line 11"),
        ("out_of_range", "policy.yaml", "detectors.blocked_retry.min_count"),
        ("unknown_detector", "policy.yaml", "detectors.crystal_ball"),
        ("unknown_key", "states/NY.yaml", "allowed_predicate"),
        ("unknown_state", "states/XX.yaml", "state"),
    ],
)
def test_bad_policy_pack_is_rejected_naming_file_and_field(pack: str, file: str, field: str) -> None:
    done = _run("--policy", f"{PACKS / pack}/")
    out = " ".join((done.stdout + done.stderr).split())
    assert done.returncode != 0
    assert f"{PACKS / pack / file}:" in out and field in out, out
