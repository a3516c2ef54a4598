"""The agency registry: ORI -> category, federal component, immigration-enforcement flag.

Loaded from a JSONL file (one object per agency, as written by `dmvwatch simulate --registry-out`).
Events may carry their own `agency` enrichment, which wins over the registry.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from stream.contract import AgencyIn
from stream.errors import ConfigError
from stream.records import FEDERAL_COMPONENTS, Agency


def _component(raw: str | None) -> str | None:
    if raw is None:
        return None
    return raw if raw in FEDERAL_COMPONENTS else "other_federal"


class AgencyRegistry:
    def __init__(self, agencies: dict[str, Agency] | None = None) -> None:
        self._by_ori: dict[str, Agency] = dict(agencies or {})
        self._unknown: dict[str, Agency] = {}

    def __len__(self) -> int:
        return len(self._by_ori)

    def __contains__(self, ori: str) -> bool:
        return ori in self._by_ori

    @classmethod
    def load(cls, path: Path) -> AgencyRegistry:
        opener = gzip.open if path.suffix == ".gz" else open
        agencies: dict[str, Agency] = {}
        lineno = 0
        try:
            with opener(path, "rt", encoding="utf-8") as fh:
                for line in fh:
                    lineno += 1
                    if not line.strip():
                        continue
                    row = json.loads(line)
                    ori = row["ori"]
                    agencies[ori] = Agency(
                        ori=ori,
                        category=row.get("category") or "unknown",
                        component=_component(row.get("component")),
                        parent_org=row.get("parent_org"),
                        immigration_enforcement=bool(row.get("immigration_enforcement", False)),
                        known=True,
                    )
        except FileNotFoundError as exc:
            raise ConfigError(str(path), "registry", "file not found") from exc
        except (KeyError, ValueError) as exc:
            raise ConfigError(str(path), f"line {lineno}", f"bad registry row: {exc}") from exc
        return cls(agencies)

    def resolve(self, ori: str, enrichment: AgencyIn | None) -> Agency:
        """The event's own enrichment wins; then the registry; then an 'unknown' agency."""
        if enrichment is not None and (enrichment.category or enrichment.component):
            base = self._by_ori.get(ori)
            return Agency(
                ori=ori,
                category=enrichment.category or (base.category if base else "unknown"),
                component=_component(enrichment.component) or (base.component if base else None),
                parent_org=enrichment.parent_org or (base.parent_org if base else None),
                immigration_enforcement=bool(
                    enrichment.immigration_enforcement
                    if enrichment.immigration_enforcement is not None
                    else (base.immigration_enforcement if base else False)
                ),
                known=True,
            )
        found = self._by_ori.get(ori)
        if found is not None:
            return found
        unknown = self._unknown.get(ori)
        if unknown is None:
            if len(self._unknown) > 100_000:  # bounded: hostile input must not grow this forever
                self._unknown.clear()
            unknown = self._unknown[ori] = Agency(ori=ori)
        return unknown
