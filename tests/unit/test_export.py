"""Export: byte-identical re-exports, manifest verification, public-release suppression, file store."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stream.aggregates import Delta, MonthlyAggregator
from stream.cli import app
from stream.export.manifest import verify
from stream.export.store import dump_json, load_json
from stream.export.writer import export_month
from tests.unit.factories import T0, ice_agency, make_agency, make_query, make_response

KEY = b"unit-test-signing-key"
MONTH = "2026-03"
FEB = T0 - 20 * 86_400  # 2026-02-10: an earlier month, so the report draws a trend


def _counters() -> Delta:
    agg = MonthlyAggregator()
    ice = ice_agency()
    pd = make_agency(ori="OR0260000")
    for i in range(40):  # a large count, visible in public mode
        q = make_query(agency=pd, destinations=("OR",), ts=T0 + i)
        agg.on_query(q)
        agg.on_response(make_response(q), q, leak=False)
    for state, outcome, leak in (
        ("NY", "BLOCKED_BY_POLICY", False),
        ("WA", "HIT", True),
        ("TX", "HIT", False),
    ):
        q = make_query(agency=ice, destinations=(state,), message_key="DQ", image_requested=True)
        agg.on_query(q)
        agg.on_response(make_response(q, outcome=outcome, photo_returned=outcome == "HIT"), q, leak)
    for i in range(3):
        agg.on_query(make_query(agency=ice, ts=FEB + i))
    return agg.drain()


def _export(tmp: Path, name: str, months: Delta, public_k: int | None = None) -> Path:
    out = tmp / name
    export_month(months, MONTH, out, ("csv", "json", "html"), KEY, public_k)
    return out


def _bytes(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def test_exporting_the_same_month_twice_gives_byte_identical_files(tmp_path: Path) -> None:
    months = _counters()
    a = _bytes(_export(tmp_path, "a", months))
    b = _bytes(_export(tmp_path, "b", json.loads(json.dumps(months))))  # a fresh copy, same data
    assert len(a) == 11 and "manifest.json" in a
    assert a == b
    assert b"data:image/png;base64," in a[f"dmvq-{MONTH}-report.html"]


def test_verify_passes_then_names_a_one_byte_change(tmp_path: Path) -> None:
    out = _export(tmp_path, "x", _counters())
    assert verify(out, KEY) == []
    target = out / f"dmvq-{MONTH}-state_outcome.csv"
    raw = bytearray(target.read_bytes())
    raw[-2] = ord("7") if raw[-2] != ord("7") else ord("8")
    target.write_bytes(bytes(raw))
    problems = verify(out, KEY)
    assert problems == [f"dmvq-{MONTH}-state_outcome.csv: content changed (SHA-256 mismatch)"]


def test_verify_names_missing_and_extra_files_and_a_wrong_key(tmp_path: Path) -> None:
    out = _export(tmp_path, "x", _counters())
    (out / f"dmvq-{MONTH}.json").unlink()
    (out / "notes.txt").write_text("hello")
    assert verify(out, KEY) == [f"dmvq-{MONTH}.json: missing", "notes.txt: extra file not in the manifest"]
    assert verify(out, b"another-key")[0].startswith("manifest.json: signature does not match")


def test_cli_verify_exits_1_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMVWATCH_EXPORT__SIGNING_KEY", KEY.decode())
    monkeypatch.delenv("DMVWATCH_CONFIG_FILE", raising=False)
    src = tmp_path / "agg.json"
    dump_json(src, _counters())
    out = tmp_path / "cli"
    run = CliRunner().invoke(
        app, ["export", "--month", MONTH, "--out", str(out), "--from-file", str(src), "--quiet"]
    )
    assert run.exit_code == 0, run.output
    assert CliRunner().invoke(app, ["export", "verify", str(out)]).exit_code == 0
    with (out / f"dmvq-{MONTH}-summary.csv").open("ab") as fh:
        fh.write(b" ")
    bad = CliRunner().invoke(app, ["export", "verify", str(out)])
    assert bad.exit_code == 1
    assert f"dmvq-{MONTH}-summary.csv" in bad.output


def test_public_mode_shows_small_counts_as_below_k_in_every_output(tmp_path: Path) -> None:
    out = _export(tmp_path, "pub", _counters(), public_k=5)
    so = (out / f"dmvq-{MONTH}-state_outcome.csv").read_text().splitlines()
    assert f"{MONTH},NY,blocked,<5" in so  # 1 blocked response in NY
    assert f"{MONTH},OR,answered,40" in so  # large counts unchanged
    doc = json.loads((out / f"dmvq-{MONTH}.json").read_text())
    rows = doc["tables"]["component_state"]["rows"]
    ice_wa = next(r for r in rows if r[1] == "ICE-ERO" and r[3] == "WA")
    assert ice_wa[4:] == ["<5", 0, 0, 0, "<5", 0]  # requests, answered, nof, blocked, leak, other
    assert doc["public"] is True and doc["suppress_below"] == 5
    html = (out / f"dmvq-{MONTH}-report.html").read_text()
    assert "&lt;5" in html
    assert not any(f"<td>{n}</td>" in html for n in range(1, 5))  # every small count masked
    for name, body in _bytes(out).items():  # no count cell anywhere holds a raw 1..4
        if name.endswith(".csv"):
            rows = list(csv.DictReader(io.StringIO(body.decode())))
            cells = {v for r in rows for k, v in r.items() if k != "immigration_enforcement"}
            assert not {"1", "2", "3", "4"} & cells, name
    assert verify(out, KEY) == []


def test_file_store_round_trip_and_bare_mapping(tmp_path: Path) -> None:
    months = _counters()
    path = tmp_path / "agg.json"
    dump_json(path, months)
    assert load_json(path) == months
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(months))  # what `replay --aggregates-out` may write
    assert load_json(bare) == months
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"not-a-month": {}}))
    with pytest.raises(ValueError):
        load_json(bad)


def test_trend_totals_equal_a_full_pass_over_the_detailed_counters() -> None:
    from stream.export.summary import TREND_METRICS, summary_figures, trend_figures

    for counters in _counters().values():
        detailed = {k: v for k, v in counters.items() if not k.startswith("s|")}
        assert "s|events" in counters
        want = {k: summary_figures(detailed)[k] for k in TREND_METRICS}
        assert trend_figures(counters) == want  # from the s| totals
        assert trend_figures(detailed) == want  # fallback: lean pass
