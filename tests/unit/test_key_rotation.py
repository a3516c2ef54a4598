"""Pseudonym key rotation: during the overlap (`pseudonym.rotation_overlap_until`, event time) a query
carries its subject's hash under both keys, and subject-keyed detectors adopt state recorded under the
previous key, so a subject seen before and after the rotation still adds up to one burst.

Timeline (hours, one subject looked up by ICE; subject_focus fires at 5 look-ups within 72 h):

    0    1    2  | rotation (checkpoint restored under key B) |  3    4    5 ............ 80 (watermark)
    q    q    q  |                                             |  q    q    q
    key A        |                                             |  key B (+ A during the overlap)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from stream.agencies import AgencyRegistry
from stream.app import build_core
from stream.decode import Decoder
from stream.pseudonymize import Pseudonymizer
from stream.settings import load_settings

KEY_A, KEY_B = "rotation-test-key-A-0123456789", "rotation-test-key-B-9876543210"
T0 = datetime(2026, 10, 5, tzinfo=UTC)
ICE = {"category": "FE", "parent_org": "DHS", "component": "ICE-ERO", "immigration_enforcement": True}


def _query(n: int, hour: float, plate: str = "SYN ROT1") -> bytes:
    ts = (T0 + timedelta(hours=hour)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return orjson.dumps({
        "schema": "dmvq.query.v1", "event_id": f"q-rot-{n}", "ts": ts, "source": "nlets",
        "message_key": "RQ", "originating_ori": f"XXSYNICE{n % 3}", "agency": ICE, "destinations": ["TX"],
        "search": {"mode": "plate", "plate": plate},
    })  # fmt: skip


def _core(key: str, previous: str | None = None, until: datetime | None = None) -> Any:
    pseudonym: dict[str, Any] = {"key": key, "previous_key": previous, "rotation_overlap_until": until}
    return build_core(load_settings(pseudonym=pseudonym), live=False)


def _subject_focus(core: Any, pipeline: Any, lines: list[bytes]) -> list[Any]:
    found = []
    for raw in lines:
        found += pipeline.process(core.decoder.decode(raw))
    return [f for f in found if f.detector == "subject_focus"]


def _rotated_run(previous: str | None) -> list[Any]:
    before = _core(KEY_A)
    p1 = before.new_pipeline([])
    assert not _subject_focus(before, p1, [_query(i, i) for i in range(3)])
    state = orjson.loads(orjson.dumps(p1.snapshot()))  # as checkpointed in Redis
    after = _core(KEY_B, previous, T0 + timedelta(days=30))
    p2 = after.new_pipeline([])
    p2.restore(state)
    lines = [_query(i, i) for i in range(3, 6)] + [_query(99, 80, plate="SYN OTHER")]
    return _subject_focus(after, p2, lines)


def test_subject_keeps_matching_across_a_rotation_with_overlap() -> None:
    rotated = _rotated_run(previous=KEY_A)
    core = _core(KEY_A)
    unrotated = _subject_focus(
        core, core.new_pipeline([]), [_query(i, i) for i in range(6)] + [_query(99, 80, plate="SYN OTHER")]
    )
    assert len(rotated) == len(unrotated) == 1
    # the burst spans the rotation: look-ups hashed under key A and under key B, as one subject
    assert rotated[0].evidence["event_ids"] == unrotated[0].evidence["event_ids"]
    assert {"q-rot-0", "q-rot-4"} <= set(rotated[0].evidence["event_ids"])


def test_without_the_previous_key_the_subject_splits_in_two() -> None:
    assert _rotated_run(previous=None) == []


def test_previous_hash_only_within_the_overlap() -> None:
    until = (T0 + timedelta(hours=4)).timestamp()
    decoder = Decoder(
        Pseudonymizer(KEY_B.encode(), KEY_A.encode()), AgencyRegistry(), previous_key_until=until
    )
    old_hash = Pseudonymizer(KEY_A.encode()).subject_key("plate", plate="SYN ROT1")
    inside, outside = decoder.decode(_query(1, 3)), decoder.decode(_query(2, 5))
    assert inside.subject_key_prev == old_hash and inside.subject_key != old_hash
    assert outside.subject_key_prev is None and outside.subject_key == inside.subject_key
