"""Kafka SSL/SASL settings become the right librdkafka keys; secrets stay out of reprs and errors."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from stream.errors import ConfigError
from stream.settings import KafkaSettings, load_settings


def test_plaintext_by_default_with_no_security_keys() -> None:
    conf = KafkaSettings().client_config()
    assert conf == {"bootstrap.servers": "127.0.0.1:9092", "security.protocol": "PLAINTEXT"}


def test_sasl_ssl_with_mutual_tls_maps_to_librdkafka_keys() -> None:
    s = KafkaSettings(
        bootstrap_servers="broker-1.example:9093,broker-2.example:9093",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="dmvwatch",
        sasl_password=SecretStr("sasl-pw-123"),
        ssl_ca_location="/etc/kafka/ca.pem",
        ssl_certificate_location="/etc/kafka/client.pem",
        ssl_key_location="/etc/kafka/client.key",
        ssl_key_password=SecretStr("key-pw-456"),
    )
    assert s.client_config() == {
        "bootstrap.servers": "broker-1.example:9093,broker-2.example:9093",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "dmvwatch",
        "sasl.password": "sasl-pw-123",
        "ssl.ca.location": "/etc/kafka/ca.pem",
        "ssl.certificate.location": "/etc/kafka/client.pem",
        "ssl.key.location": "/etc/kafka/client.key",
        "ssl.key.password": "key-pw-456",
    }
    assert "sasl-pw-123" not in repr(s) and "key-pw-456" not in str(s.model_dump())


def test_librdkafka_accepts_the_generated_keys() -> None:
    from confluent_kafka import Producer

    s = KafkaSettings(
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_username="u",
        sasl_password=SecretStr("p"),
    )
    Producer(s.client_config())  # unknown or misspelt keys raise KafkaException here (no connection yet)


def test_unknown_protocol_is_rejected_without_echoing_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMVWATCH_KAFKA__SECURITY_PROTOCOL", "SASL_TLS")
    monkeypatch.setenv("DMVWATCH_KAFKA__SASL_PASSWORD", "hunter2-secret")
    monkeypatch.setenv("DMVWATCH_REDIS__PASSWORD", "redis-pw-secret")
    monkeypatch.setenv("DMVWATCH_REDIS__SOCKET_TIMEOUT_S", "-1")
    with pytest.raises(ConfigError) as err:
        load_settings()
    text = str(err.value)
    assert "kafka.security_protocol" in text or "redis.socket_timeout_s" in text
    assert "hunter2-secret" not in text and "redis-pw-secret" not in text
