"""Composition root: builds every component from settings and the policy pack.

CLI commands call into here; nothing is built at import time (design principle 9).
"""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from stream.agencies import AgencyRegistry
from stream.decode import Decoder
from stream.errors import ConfigError
from stream.pipeline import Pipeline, PipelineConfig, build_detectors
from stream.pseudonymize import Pseudonymizer
from stream.settings import Settings

log = logging.getLogger("dmvwatch")

# The hot path allocates a few small objects per event while detector state holds millions of live
# ones; with CPython's default gen-0 threshold (700) the collector ran every ~100 events and re-walked
# the young state each time (about a third of the CPU in replay). Cycles are rare on the path (memory
# stays bounded), so collect far less often; gen 2 keeps its own amortization.
GC_THRESHOLDS = (50_000, 20, 10)


@dataclass
class Core:
    """What every mode (live worker, replay) shares: policy, registry, decoder."""

    settings: Settings
    policy: Any
    registry: AgencyRegistry
    decoder: Decoder

    def pipeline_config(self, scope: str = "all") -> PipelineConfig:
        rt = self.settings.runtime
        return PipelineConfig(
            allowed_lateness_s=rt.allowed_lateness_s,
            join_window_s=rt.join_window_s,
            dedup_horizon_s=rt.dedup_horizon_s,
            dedup_capacity=rt.dedup_capacity,
            scope=scope,
        )

    def new_pipeline(self, observers: list[Any], scope: str = "all", **hooks: Any) -> Pipeline:
        return Pipeline(
            build_detectors(self.policy, scope),
            self.policy,
            self.pipeline_config(scope),
            observers=observers,
            **hooks,
        )


def build_core(settings: Settings, live: bool) -> Core:
    from stream.policy import load_policy

    policy = load_policy(settings.policy_path)
    registry_path = settings.runtime.registry_path or policy.registry_path
    registry = AgencyRegistry.load(registry_path) if registry_path else AgencyRegistry()
    if registry_path and not len(registry):
        raise ConfigError(str(registry_path), "registry", "no agencies in registry")
    prev = settings.pseudonym.previous_key
    pseudonymizer = Pseudonymizer(
        settings.pseudonym.key.get_secret_value().encode(),
        prev.get_secret_value().encode() if prev else None,
    )
    decoder = Decoder(
        pseudonymizer,
        registry,
        max_bytes=settings.runtime.max_message_bytes,
        max_future_s=settings.runtime.max_future_skew_s if live else None,
        previous_key_until=_overlap_end(settings),
    )
    log.info("policy %s loaded, %d agencies in registry", policy.version, len(registry))
    tune_gc()
    return Core(settings=settings, policy=policy, registry=registry, decoder=decoder)


def tune_gc() -> None:
    """Move the loaded policy/registry out of the collector's sight and space out young collections."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _overlap_end(settings: Settings) -> float | None:
    """Event time until which subjects are also hashed under the previous key (None: no end)."""
    until = settings.pseudonym.rotation_overlap_until
    if until is None:
        return None
    return (until if until.tzinfo else until.replace(tzinfo=UTC)).timestamp()
