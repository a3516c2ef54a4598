"""The monitor's own decoder accepts every simulated event (and resolves the agencies from the written
registry); the deliberately malformed lines are dead-lettered."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from stream.agencies import AgencyRegistry
from stream.decode import Decoder
from stream.errors import DecodeError
from stream.pseudonymize import Pseudonymizer
from stream.records import Query
from stream.simulate.agencies import write_registry
from stream.simulate.engine import SimConfig
from tests.unit.simulate_support import eval_specs, read_lines, run_to_file


def test_decoder_accepts_simulated_traffic_and_registry(tmp_path: Path) -> None:
    cfg = SimConfig(
        seed=12,
        duration_s=86_400,
        scale=0.002,
        clear_text_share=0.3,
        malformed_share=0.002,
        scenarios=eval_specs(),
    )
    sim = run_to_file(cfg, tmp_path / "e.jsonl")
    write_registry(sim.registry, tmp_path / "registry.jsonl")
    registry = AgencyRegistry.load(tmp_path / "registry.jsonl")
    assert len(registry) == len(sim.registry)
    decoder = Decoder(Pseudonymizer(b"test-key-0123456789abcdef"), registry)
    reasons: Counter[str] = Counter()
    queries: list[Query] = []
    for line in read_lines(tmp_path / "e.jsonl"):
        try:
            event = decoder.decode(line)
        except DecodeError as exc:
            reasons[exc.reason] += 1
            continue
        if isinstance(event, Query):
            queries.append(event)
    assert sum(reasons.values()) == sim.stats.events["malformed"] > 0
    assert len(queries) == sim.stats.queries
    # the registry resolves every ORI except the scenario's never-seen requester
    unknown = {q.ori for q in queries if not q.agency.known}
    new = {lab["ori"] for lab in sim.labels() if lab["kind"] == "new_requester"}
    assert unknown == new
    ice = [q for q in queries if q.agency.component == "ICE-ERO"]
    assert ice and all(q.agency.immigration_enforcement for q in ice)
    hsi = [q for q in queries if q.agency.component == "HSI"]
    assert hsi and not any(q.agency.immigration_enforcement for q in hsi)
    assert all(q.agency.parent_org == "DHS" for q in hsi)
