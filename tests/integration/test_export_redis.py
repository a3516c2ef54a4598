"""Aggregates staged through a real Redis MULTI/EXEC export exactly like the same counters from a file."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from stream.aggregates import Delta, merge_into
from stream.cli import app
from stream.export.cli import read_for_export
from stream.export.store import AggregateStore, dump_json, load_json
from stream.export.writer import export_month
from tests.unit.test_export_simulated import generate, product_counters

KEY = b"integration-signing-key"


def _split(counters: Delta, parts: int) -> list[Delta]:
    """Cut the counters into `parts` checkpoint-sized deltas (each key's total spread over them)."""
    out: list[Delta] = [{} for _ in range(parts)]
    for month, c in counters.items():
        for i, (key, n) in enumerate(sorted(c.items())):
            first = n // 2
            merge_into(out[i % parts], {month: {key: first}})
            merge_into(out[(i + 1) % parts], {month: {key: n - first}})
    return [{m: {k: v for k, v in c.items() if v} for m, c in d.items()} for d in out]


def _files(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


@pytest.mark.integration
def test_staged_deltas_export_like_the_file(tmp_path: Path, redis_client: redis.Redis) -> None:
    events = tmp_path / "events.jsonl"
    generate(events)
    counters = product_counters(events)
    store = AggregateStore(redis_client, prefix="dmvqtest")
    for n, delta in enumerate(_split(counters, 4)):
        pipe = redis_client.pipeline(transaction=True)
        store.stage(pipe, delta)
        pipe.set("dmvqtest:offsets", n)  # what the runtime commits in the same transaction
        pipe.execute()
    crashed = redis_client.pipeline(transaction=True)
    store.stage(crashed, counters)  # staged but never executed: a crash before EXEC adds nothing
    crashed.reset()

    assert store.months() == ["2026-10", "2026-11"]
    assert store.read_all() == counters
    for month in store.months():
        from_redis = export_month(
            store.read_all(), month, tmp_path / f"redis-{month}", ("csv", "json", "html"), KEY
        )
        path = tmp_path / "agg.json"
        dump_json(path, counters)
        from_file = export_month(
            load_json(path), month, tmp_path / f"file-{month}", ("csv", "json", "html"), KEY
        )
        assert _files(from_redis.out_dir) == _files(from_file.out_dir)
        # What the CLI reads: the month in full, earlier months only by their s| totals (HMGET).
        lean = read_for_export(store, month)
        assert all(k.startswith("s|") for m in lean if m != month for k in lean[m])
        from_cli_read = export_month(lean, month, tmp_path / f"lean-{month}", ("csv", "json", "html"), KEY)
        assert _files(from_cli_read.out_dir) == _files(from_file.out_dir)


@pytest.mark.integration
def test_cli_export_reads_redis_from_settings(
    tmp_path: Path, redis_client: redis.Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    counters = {"2026-10": {"q|XXSYNICE1|ICE-ERO|WA|DQ": 12, "o|XXSYNICE1|ICE-ERO|WA|blocked": 12}}
    pipe = redis_client.pipeline(transaction=True)
    AggregateStore(redis_client).stage(pipe, counters)
    pipe.execute()
    monkeypatch.setenv("DMVWATCH_REDIS__URL", redis_url)
    monkeypatch.setenv("DMVWATCH_EXPORT__SIGNING_KEY", KEY.decode())
    monkeypatch.delenv("DMVWATCH_CONFIG_FILE", raising=False)
    out = tmp_path / "cli"
    run = CliRunner().invoke(
        app, ["export", "--month", "2026-10", "--format", "csv", "--out", str(out), "--quiet"]
    )
    assert run.exit_code == 0, run.output
    rows = (out / "dmvq-2026-10-component_state.csv").read_text().splitlines()
    assert rows[1] == "2026-10,ICE-ERO,1,WA,12,0,0,12,0,0"
    assert CliRunner().invoke(app, ["export", "verify", str(out)]).exit_code == 0


def test_acknowledging_an_alert_records_time_to_ack_in_the_month(redis_client: redis.Redis) -> None:
    from stream.alerting.lifecycle import Lifecycle
    from stream.alerting.store import AlertStore
    from stream.findings import Finding, to_alert

    clock = [1_790_000_000.0]
    finding = Finding(
        "policy_leak", "critical", "XXSYNICE1", "g", 1_791_208_800.0, 1_791_208_900.0, "t", {"count": 1}
    )  # window in 2026-10
    AlertStore(redis_client, now=lambda: clock[0]).write([to_alert(finding, "v1", clock[0])])
    clock[0] += 125.0
    life = Lifecycle(redis_client, now=lambda: clock[0])
    life.acknowledge(finding.alert_id("v1"), "oncall", "looking")
    agg = AggregateStore(redis_client).read("2026-10")
    assert agg["ak|policy_leak|n"] == 1 and agg["ak|policy_leak|s"] == 125


@pytest.mark.integration
def test_more_counters_than_one_server_side_batch_all_land(redis_client: redis.Redis) -> None:
    # 12,001 counters (three batches of the staged HINCRBY loop, the last one short), staged twice
    store = AggregateStore(redis_client)
    delta: Delta = {"2026-10": {f"o|XX{i:07d}|q": i % 7 + 1 for i in range(12_001)}, "2026-11": {"s|q": 3}}
    for _ in range(2):
        pipe = redis_client.pipeline(transaction=True)
        store.stage(pipe, delta)
        pipe.execute()
    assert store.read("2026-10") == {k: 2 * v for k, v in delta["2026-10"].items()}
    assert store.read("2026-11") == {"s|q": 6} and store.months() == ["2026-10", "2026-11"]
