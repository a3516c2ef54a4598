"""Keyed-hash pseudonymization of subject identifiers, applied on arrival.

HMAC-SHA256 under a secret key from settings. Clear-text name, DOB, OLN and plate are folded into one
`subject_key`; an upstream `subject_key` is re-keyed under our key too, so everything we store is
covered by our key and its rotation. During a rotation overlap the previous key's hash is also
produced, so subject-keyed state built before the rotation keeps matching.
"""

from __future__ import annotations

import hashlib
import hmac

_PREFIX = "sk_"
# Upstream subject keys (already pseudonymous, never clear text) repeat within a multi-state family and
# across a person's look-ups: their re-keyed hash is cached. Clear-text material is never cached.
_CACHE_MAX = 200_000


class Pseudonymizer:
    def __init__(self, key: bytes, previous_key: bytes | None = None) -> None:
        if len(key) < 16:
            raise ValueError("pseudonymization key must be at least 16 bytes")
        self._key = key
        self._previous = previous_key
        self._upstream: dict[str, str] = {}

    def _digest(self, key: bytes, material: str) -> str:
        # hmac.digest is the one-shot C path; same bytes as hmac.new(...).digest()
        return _PREFIX + hmac.digest(key, material.encode("utf-8"), hashlib.sha256).hex()[:32]

    def _current(self, material: str, upstream: bool) -> str:
        if not upstream:
            return self._digest(self._key, material)
        cached = self._upstream.get(material)
        if cached is None:
            if len(self._upstream) >= _CACHE_MAX:
                self._upstream.clear()
            cached = self._upstream[material] = self._digest(self._key, material)
        return cached

    @staticmethod
    def _material(
        mode: str,
        upstream_key: str | None,
        name: str | None,
        dob: str | None,
        oln: str | None,
        plate: str | None,
    ) -> str | None:
        if upstream_key:
            return "up:" + upstream_key
        if oln:
            return "oln:" + oln.strip().upper()
        if plate:
            return "plate:" + plate.replace(" ", "").upper()
        if name:
            return "nd:" + " ".join(name.upper().split()) + "|" + (dob or "").strip()
        return None

    def subject_key(
        self,
        mode: str,
        upstream_key: str | None = None,
        name: str | None = None,
        dob: str | None = None,
        oln: str | None = None,
        plate: str | None = None,
    ) -> str | None:
        material = self._material(mode, upstream_key, name, dob, oln, plate)
        return None if material is None else self._digest(self._key, material)

    def subject_keys(
        self,
        mode: str,
        upstream_key: str | None = None,
        name: str | None = None,
        dob: str | None = None,
        oln: str | None = None,
        plate: str | None = None,
        *,
        with_previous: bool = False,
    ) -> tuple[str | None, str | None]:
        """(hash under the current key, hash under the previous key or None) of one subject."""
        material = self._material(mode, upstream_key, name, dob, oln, plate)
        if material is None:
            return None, None
        prev = self._digest(self._previous, material) if with_previous and self._previous else None
        return self._current(material, bool(upstream_key)), prev

    def previous_subject_key(self, current_material: str) -> str | None:
        return None if self._previous is None else self._digest(self._previous, current_material)

    def hash_value(self, value: str) -> str:
        """Keyed hash of any other identifier (used for evidence that must stay comparable)."""
        return self._digest(self._key, "v:" + value)
