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

    from stream.findings import DETECTORS  # the alert contract's enum: one module per kind

    for name in DETECTORS:
        importlib.import_module(f"stream.detectors.{name}")
    return REGISTRY
