"""Checkpoint state encoded part by part equals the whole state encoded at once."""

from __future__ import annotations

import zlib

import orjson

from stream.lazy_json import LazyMap, encode_lazy


def test_lazy_parts_encode_to_the_same_bytes_as_the_resolved_state() -> None:
    built: list[str] = []

    def part(name: str, value: object) -> object:
        def make() -> object:
            built.append(name)
            return value

        return make

    state = LazyMap(
        max_ts=12.5,
        events=part("events", [["e1", 1.0], ['e-\u00e9"2', 2.0]]),
        detectors=LazyMap({"a": part("a", {"x": [1, 2]}), 'b"q': part("b", {}), "c": {"plain": None}}),
        empty=LazyMap(),
    )
    blob = encode_lazy(state)
    assert built == ["events", "a", "b"]  # each part built once, in order
    resolved = state.resolve()
    assert orjson.loads(zlib.decompress(blob)) == resolved
    assert blob == zlib.compress(orjson.dumps(resolved), 1)
    plain = {"plain": [1, {"k": "v"}]}
    assert encode_lazy(plain) == zlib.compress(orjson.dumps(plain), 1)
