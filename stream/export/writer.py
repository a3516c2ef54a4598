"""Write one month's export (CSV, JSON, HTML) and its signed manifest into a directory.

Deterministic: the same counters give byte-identical files (sorted rows, fixed float rounding, no
timestamps but the month, PNG metadata stripped). Input is `{month: counters}` for every stored month,
so the report can show the trend against earlier months.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from stream import __version__
from stream.aggregates import Delta
from stream.export.manifest import MANIFEST, read_manifest, write_manifest
from stream.export.report import render_report
from stream.export.store import check_month
from stream.export.summary import build_tables, trend_figures
from stream.export.tables import Table, suppress

FORMATS: tuple[str, ...] = ("csv", "json", "html")
TREND_MONTHS = 12
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ExportResult:
    out_dir: Path
    files: list[str]
    manifest: Path


def _csv(table: Table) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(table.columns)
    w.writerows(table.rows)
    return buf.getvalue()


def _json(month: str, tables: Iterable[Table], public_k: int | None) -> str:
    doc = {
        "format": "dmvq.export.v1",
        "month": month,
        "public": public_k is not None,
        "suppress_below": public_k,
        "tables": {
            t.name: {"title": t.title, "columns": list(t.columns), "rows": [list(r) for r in t.rows]}
            for t in tables
        },
    }
    return json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=True) + "\n"


def _trend(month: str, months: Delta) -> list[tuple[str, dict[str, int]]]:
    """Trend figures of up to TREND_MONTHS stored months ending with `month` (oldest first)."""
    earlier = sorted(m for m in months if m < month)[-(TREND_MONTHS - 1) :]
    return [(m, trend_figures(months.get(m, {}))) for m in [*earlier, month]]


def _clear_previous(out_dir: Path) -> None:
    """Remove the files a previous export listed, so stale formats do not linger as 'extra' files."""
    if not (out_dir / MANIFEST).is_file():
        return
    try:
        listed = [e["path"] for e in read_manifest(out_dir).get("files", [])]
    except ValueError:
        listed = []
    for name in listed:
        path = out_dir / name
        if path.is_file() and path.resolve().parent == out_dir.resolve():
            path.unlink()
    (out_dir / MANIFEST).unlink()


def export_month(
    months: Delta,
    month: str,
    out_dir: Path,
    formats: Iterable[str],
    signing_key: bytes,
    public_k: int | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Build tables for `month` from `months`, write the chosen formats and a signed manifest."""
    check_month(month)
    step = progress or (lambda _s: None)
    wanted = sorted(set(formats))
    for f in wanted:
        if f not in FORMATS:
            raise ValueError(f"unknown format {f!r}; choose from {', '.join(FORMATS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    _clear_previous(out_dir)
    step("tables")
    raw = build_tables(month, months.get(month, {}))
    tables = raw if public_k is None else [suppress(t, public_k) for t in raw]
    files: dict[str, str] = {}
    if "csv" in wanted:
        step("csv")
        for t in tables:
            files[f"dmvq-{month}-{t.name}.csv"] = _csv(t)
    if "json" in wanted:
        step("json")
        files[f"dmvq-{month}.json"] = _json(month, tables, public_k)
    if "html" in wanted:
        step("html")
        by_name = {t.name: t for t in raw}  # the report masks small counts itself, after totals
        files[f"dmvq-{month}-report.html"] = render_report(month, by_name, _trend(month, months), public_k)
    step("write")
    for name in sorted(files):
        (out_dir / name).write_text(files[name], encoding="utf-8", newline="\n")
    meta = {
        "month": month,
        "public": public_k is not None,
        "suppress_below": public_k,
        "generator": f"dmvwatch {__version__}",
    }
    step("manifest")
    manifest = write_manifest(out_dir, sorted(files), signing_key, meta)
    return ExportResult(out_dir, sorted(files), manifest)
