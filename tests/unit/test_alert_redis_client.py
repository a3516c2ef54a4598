"""The Redis client factory: credentials reach redis-py, never the loggable description."""

from __future__ import annotations

from pydantic import SecretStr

from stream.alerting.redis_client import connect, describe
from stream.settings import RedisSettings


def test_connect_passes_credentials_and_tls_without_connecting() -> None:
    s = RedisSettings(
        url="rediss://cache.example:6380/3",
        username="dmvwatch",
        password=SecretStr("s3cret-pw"),
        ssl_ca_certs="/etc/ssl/ca.pem",
        socket_timeout_s=1.5,
    )
    client = connect(s)  # redis-py connects lazily: no network here
    kw = client.connection_pool.connection_kwargs
    assert kw["username"] == "dmvwatch" and kw["password"] == "s3cret-pw"
    assert kw["ssl_ca_certs"] == "/etc/ssl/ca.pem" and kw["db"] == 3
    assert kw["socket_timeout"] == 1.5 and kw["decode_responses"] is True
    assert connect(s, decode_responses=False).connection_pool.connection_kwargs["decode_responses"] is False


def test_describe_hides_credentials() -> None:
    s = RedisSettings(url="redis://user:pw-in-url@10.0.0.5:6379/2", password=SecretStr("other"))
    text = describe(s)
    assert text == "redis://10.0.0.5:6379/2"
    assert "pw-in-url" not in text and "other" not in repr(s)
