"""Runtime settings (pydantic-settings): env vars with the DMVWATCH_ prefix and an optional YAML file.

Nested sections use `__` in env names, e.g. `DMVWATCH_KAFKA__BOOTSTRAP_SERVERS`. The YAML file is named
by `DMVWATCH_CONFIG_FILE` (or `--config` on the CLI). Precedence: init args > env > YAML > defaults.
Secrets are `SecretStr` and never printed. Every field is documented in README's configuration table
(tests/unit/test_settings.py checks that the table covers every field).
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from stream.errors import ConfigError

# The YAML file of the settings being built (set by load_settings; no global environment mutation).
_CONFIG_FILE: ContextVar[str | None] = ContextVar("dmvwatch_config_file", default=None)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KafkaSettings(_Section):
    bootstrap_servers: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers.")
    input_topics: list[str] = Field(["dmvq.events"], description="Topics carrying query and response events.")
    dlq_topic: str | None = Field(None, description="Dead-letter topic; default `<first input topic>.dlq`.")
    group_id: str = Field("dmvwatch", description="Consumer group of the workers.")
    repartition: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Repartition by ORI through internal topics: `on`, `off`, or `auto` (on when the "
        "input topic has more than one partition).",
    )
    internal_partitions: int = Field(6, ge=1, le=1024, description="Partitions of the internal topics.")
    batch_size: int = Field(2000, ge=1, le=100_000, description="Max messages per consume() batch.")
    poll_timeout_s: float = Field(0.2, gt=0, le=10, description="consume() timeout per batch, seconds.")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="librdkafka security.protocol."
    )
    sasl_mechanism: str | None = Field(None, description="SASL mechanism (PLAIN, SCRAM-SHA-512, ...).")
    sasl_username: str | None = Field(None, description="SASL user name.")
    sasl_password: SecretStr | None = Field(None, description="SASL password (secret).")
    ssl_ca_location: str | None = Field(None, description="CA bundle for SSL.")
    ssl_certificate_location: str | None = Field(None, description="Client certificate for mutual TLS.")
    ssl_key_location: str | None = Field(None, description="Client key for mutual TLS.")
    ssl_key_password: SecretStr | None = Field(None, description="Client key password (secret).")

    def client_config(self) -> dict[str, Any]:
        """librdkafka settings shared by consumers and producers (secrets revealed only here)."""
        conf: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
        }
        optional = {
            "sasl.mechanism": self.sasl_mechanism,
            "sasl.username": self.sasl_username,
            "sasl.password": self.sasl_password.get_secret_value() if self.sasl_password else None,
            "ssl.ca.location": self.ssl_ca_location,
            "ssl.certificate.location": self.ssl_certificate_location,
            "ssl.key.location": self.ssl_key_location,
            "ssl.key.password": self.ssl_key_password.get_secret_value() if self.ssl_key_password else None,
        }
        conf.update({k: v for k, v in optional.items() if v is not None})
        return conf

    @property
    def dead_letter_topic(self) -> str:
        return self.dlq_topic or f"{self.input_topics[0]}.dlq"


class RedisSettings(_Section):
    url: str = Field("redis://127.0.0.1:6379/0", description="Redis URL (`rediss://` for TLS).")
    username: str | None = Field(None, description="Redis ACL user.")
    password: SecretStr | None = Field(None, description="Redis ACL password (secret).")
    ssl_ca_certs: str | None = Field(None, description="CA bundle for Redis TLS.")
    socket_timeout_s: float = Field(2.0, gt=0, le=60, description="Redis socket timeout, seconds.")
    key_prefix: str = Field("dmvq", description="Prefix of every Redis key the monitor writes.")
    alert_stream_maxlen: int = Field(
        1_000_000, ge=1000, description="Approximate retention (entries) of the alert stream."
    )


class PseudonymSettings(_Section):
    key: SecretStr = Field(
        SecretStr("dev-only-pseudonymization-key-change-me"),
        description="HMAC-SHA256 key for subject pseudonyms (secret, at least 16 bytes).",
    )
    previous_key: SecretStr | None = Field(
        None, description="Previous key, kept during a rotation overlap (secret)."
    )
    rotation_overlap_until: datetime | None = Field(
        None,
        description="End (RFC 3339, event time) of the key-rotation overlap: events before it also carry "
        "their subject hash under `previous_key`, so subject-keyed detectors keep matching "
        "(unset: for as long as `previous_key` is set).",
    )


class RuntimeSettings(_Section):
    allowed_lateness_s: float = Field(
        300.0, ge=0, le=86_400, description="Watermark lag behind the newest event time."
    )
    max_future_skew_s: float = Field(
        600.0, ge=0, description="Events this far ahead of the wall clock are dead-lettered."
    )
    join_window_s: float = Field(
        600.0,
        gt=0,
        le=3600,
        description="How long (event time) a response waits for its query, and a query not yet "
        "answered by every destination state (or sent to NL or an ORI) for its responses.",
    )
    dedup_horizon_s: float = Field(3600.0, gt=0, description="Event-time horizon of redelivery dedup.")
    dedup_capacity: int = Field(
        500_000,
        ge=1000,
        description="Event ids remembered for redelivery dedup (bounds memory: about 5 h of national "
        "traffic, or 4 min at 2,000 events/s).",
    )
    checkpoint_interval_s: float = Field(
        2.0, gt=0, le=600, description="Seconds between checkpoints/commits."
    )
    checkpoint_cost_budget: float = Field(
        20.0,
        ge=1,
        le=1000,
        description="Checkpoints wait at least this many times their own last duration (bounds their "
        "share of the time when the state is large).",
    )
    max_message_bytes: int = Field(262_144, ge=1024, description="Larger messages are dead-lettered.")
    idle_close_s: float = Field(
        30.0, gt=0, description="Wall-clock idle seconds after which event time follows the wall clock."
    )
    registry_path: Path | None = Field(None, description="Agency registry (JSONL); overrides the policy's.")


class InhibitRule(_Section):
    """Alertmanager-style inhibition: open `source` alerts mute `target` alerts with equal `equal` labels."""

    name: str = Field(description="Short rule name, recorded as the reason detail.")
    source: dict[str, str] = Field(description="Exact label matchers of the muting alert.")
    target: dict[str, str] = Field(description="Exact label matchers of the muted alert.")
    equal: list[str] = Field(default_factory=list, description="Labels that must be equal on both.")


def _default_inhibit_rules() -> list[InhibitRule]:
    return [
        InhibitRule(
            name="leak_mutes_violation",
            source={"detector": "policy_leak"},
            target={"detector": "policy_violation"},
            equal=["ori", "state"],
        )
    ]


class AlertSettings(_Section):
    group_wait_s: float = Field(30.0, ge=0, description="Alertmanager-style group_wait, seconds.")
    group_interval_s: float = Field(300.0, ge=0, description="Alertmanager-style group_interval, seconds.")
    repeat_interval_s: float = Field(
        14_400.0, ge=0, description="Alertmanager-style repeat_interval, seconds."
    )
    alertmanager_url: str | None = Field(None, description="Alertmanager base URL for delivery (None: off).")
    webhook_urls: list[str] = Field(default_factory=list, description="Generic webhook receivers.")
    webhook_secret: SecretStr = Field(
        SecretStr("dev-only-webhook-secret"), description="HMAC-SHA256 key for webhook signatures (secret)."
    )
    runbook_base_url: str = Field("docs/runbooks", description="Prefix of runbook links in alerts.")
    inhibit_rules: list[InhibitRule] = Field(
        default_factory=_default_inhibit_rules,
        description="Inhibition rules (default: a policy_leak mutes policy_violation for the same ORI "
        "and state).",
    )
    retry_initial_s: float = Field(1.0, gt=0, description="First delivery retry delay, seconds (doubles).")
    retry_max_s: float = Field(300.0, gt=0, description="Longest delay between delivery retries, seconds.")
    delivery_timeout_s: float = Field(5.0, gt=0, le=120, description="HTTP timeout of one delivery, seconds.")
    notifier_batch: int = Field(200, ge=1, le=10_000, description="Alerts read from the stream per pass.")
    notifier_poll_s: float = Field(
        1.0, gt=0, le=60, description="Notifier block/poll time per pass, seconds."
    )


class MetricsSettings(_Section):
    port: int = Field(9464, ge=0, le=65535, description="Prometheus exporter port (0: off).")
    host: str = Field("127.0.0.1", description="Exporter bind address.")


class ExportSettings(_Section):
    signing_key: SecretStr = Field(
        SecretStr("dev-only-export-signing-key"), description="HMAC key that signs export manifests (secret)."
    )
    suppress_below: int = Field(10, ge=1, description="Public-release mode hides counts below this ('<k').")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DMVWATCH_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    policy_path: Path = Field(Path("deploy/policies/policy.yaml"), description="Compliance policy pack.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level.")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)  # type: ignore[arg-type]
    redis: RedisSettings = Field(default_factory=RedisSettings)  # type: ignore[arg-type]
    pseudonym: PseudonymSettings = Field(default_factory=PseudonymSettings)  # type: ignore[arg-type]
    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)  # type: ignore[arg-type]
    alerts: AlertSettings = Field(default_factory=AlertSettings)  # type: ignore[arg-type]
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)  # type: ignore[arg-type]
    export: ExportSettings = Field(default_factory=ExportSettings)  # type: ignore[arg-type]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _CONFIG_FILE.get() or os.environ.get("DMVWATCH_CONFIG_FILE")
        if path:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path))
        return tuple(sources)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings; errors name the file (or 'environment') and the field, never a secret value."""
    if config_file is not None and not config_file.is_file():
        raise ConfigError(str(config_file), "-", "config file not found")
    path = str(config_file) if config_file is not None else os.environ.get("DMVWATCH_CONFIG_FILE")
    source = path or "environment"
    token = _CONFIG_FILE.set(path)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(x) for x in err["loc"])
        raise ConfigError(source, field, err["msg"]) from None
    except Exception as exc:  # malformed YAML
        mark = getattr(exc, "problem_mark", None)  # yaml.MarkedYAMLError: where the parser gave up
        where = f"line {mark.line + 1}" if mark is not None else "-"
        raise ConfigError(source, where, f"malformed YAML: {type(exc).__name__}") from None
    finally:
        _CONFIG_FILE.reset(token)
