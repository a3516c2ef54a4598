"""The one factory that turns `RedisSettings` into a `redis.Redis` client (shared with the runtime).

Secrets are revealed only when handed to redis-py, never logged; `describe()` gives a loggable target.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from stream.settings import RedisSettings


def connect(settings: RedisSettings, *, decode_responses: bool = True) -> redis.Redis:
    """Build a client from settings: URL, ACL user/password (SecretStr), TLS CA, timeouts, retries.

    Connection errors are retried a few times with exponential backoff by redis-py itself; a longer
    outage surfaces as `redis.ConnectionError`, which callers map to `SinkUnavailable`.
    """
    kwargs: dict[str, object] = {
        "decode_responses": decode_responses,
        "socket_timeout": settings.socket_timeout_s,
        "socket_connect_timeout": settings.socket_timeout_s,
        "retry": Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=3),
        "retry_on_error": [redis.ConnectionError, redis.TimeoutError],
        "health_check_interval": 30,
    }
    if settings.username:
        kwargs["username"] = settings.username
    if settings.password is not None:
        kwargs["password"] = settings.password.get_secret_value()
    if settings.ssl_ca_certs and settings.url.startswith("rediss://"):
        kwargs["ssl_ca_certs"] = settings.ssl_ca_certs
    return redis.Redis.from_url(settings.url, **kwargs)  # type: ignore[arg-type]


def describe(settings: RedisSettings) -> str:
    """The Redis target without credentials, for logs and CLI banners."""
    parts = urlsplit(settings.url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
