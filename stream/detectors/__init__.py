"""Detector registry: `kind` -> class. One module per detector, named after what it detects."""

from __future__ import annotations

from stream.detectors.base import Detector

REGISTRY: dict[str, type[Detector]] = {}


def register(cls: type[Detector]) -> type[Detector]:
    REGISTRY[cls.kind] = cls
    return cls


def load_all() -> dict[str, type[Detector]]:
    """Import every detector module (explicitly, nothing at import time of this package)."""
    import importlib

    for name in (
        "bulk_sweep",
        "agency_spike",
        "photo_face_match",
        "policy_violation",
        "policy_leak",
        "blocked_retry",
        "agency_substitution",
        "subject_focus",
        "sensitive_targeting",
        "s2s_misuse",
        "new_requester",
        "feed_silence",
    ):
        importlib.import_module(f"stream.detectors.{name}")
    return REGISTRY
