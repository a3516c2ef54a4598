"""Every detector kind of the alert schema has a runbook with the sections on-call staff rely on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stream.findings import Finding, to_alert

ROOT = Path(__file__).resolve().parents[2]
KINDS = json.loads((ROOT / "stream/schema/alert.v1.schema.json").read_text())["properties"]["detector"][
    "enum"
]
SECTIONS = ("## What it means", "## Check the evidence", "## False-positive causes", "## Who to call")


@pytest.mark.parametrize("kind", KINDS)
def test_runbook_exists_with_sections(kind: str) -> None:
    page = ROOT / "docs/runbooks" / f"{kind}.md"
    text = page.read_text()
    assert text.startswith(f"# {kind}")
    for section in SECTIONS:
        assert section in text, f"{page.name} lacks {section!r}"
    assert f"[{kind}.md]({kind}.md)" in (ROOT / "docs/runbooks/README.md").read_text()


def test_alert_links_its_runbook() -> None:
    finding = Finding("s2s_misuse", "high", "XXSYN0001", "g", 0.0, 1.0, "t", {})
    alert = to_alert(finding, "v1", None, runbook_base="https://wiki.example/runbooks")
    assert alert.runbook == "https://wiki.example/runbooks/s2s_misuse.md"
