"""Redis ACL credentials against the real local server, and secrets kept out of every log line.

An ACL user is created for the test (`ACL SETUSER`), used through `settings.redis.username/password`
and `stream.alerting.redis_client.connect`, and deleted afterwards.
"""

from __future__ import annotations

import secrets
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from pydantic import SecretStr

from stream.alerting.redis_client import connect
from stream.alerting.store import AlertStore
from stream.settings import RedisSettings
from tests.integration import runtime_harness as h
from tests.integration.alerting_helpers import make_alert
from tests.integration.traffic import build


@pytest.fixture
def acl_user(redis_client: redis.Redis) -> Iterator[tuple[str, str]]:
    name, password = f"dmvq-test-{uuid.uuid4().hex[:8]}", f"pw-{secrets.token_hex(12)}"
    redis_client.acl_setuser(
        name,
        enabled=True,
        passwords=[f"+{password}"],
        keys=["dmvq:*"],
        channels=["dmvq:*"],
        commands=["+@all", "-@dangerous"],
    )
    yield name, password
    redis_client.acl_deluser(name)


def test_acl_user_writes_alerts_and_a_wrong_password_fails_without_echoing_it(
    redis_url: str, redis_client: redis.Redis, acl_user: tuple[str, str]
) -> None:
    name, password = acl_user
    client = connect(RedisSettings(url=redis_url, username=name, password=SecretStr(password)))
    assert AlertStore(client).write([make_alert()]) == 1
    assert redis_client.xlen("dmvq:alerts") == 1
    with pytest.raises(redis.ResponseError):  # the ACL confines the user to dmvq:* keys
        client.set("elsewhere", "x")
    wrong = "wrong-" + secrets.token_hex(8)
    bad = connect(RedisSettings(url=redis_url, username=name, password=SecretStr(wrong)))
    with pytest.raises(redis.AuthenticationError) as err:
        bad.ping()
    for secret in (wrong, password):
        assert secret not in str(err.value) and secret not in repr(err.value)


def _run(env: dict[str, str], log: Path, until: str, sig: int = signal.SIGTERM) -> str:
    proc = h.start_worker({**env, "DMVWATCH_LOG_LEVEL": "DEBUG"}, log)
    deadline = time.monotonic() + 40
    while until not in log.read_text(errors="replace") and time.monotonic() < deadline:
        time.sleep(0.3)
    time.sleep(2)
    h.stop([proc], sig)
    return log.read_text(errors="replace")


def test_worker_logs_never_contain_secrets(
    kafka_bootstrap: str,
    redis_url: str,
    redis_client: redis.Redis,
    new_topic: Callable[..., str],
    unique_group: str,
    acl_user: tuple[str, str],
    tmp_path: Path,
) -> None:
    name, password = acl_user
    topic = new_topic(1)
    h.produce(kafka_bootstrap, topic, build(seed=71, hours=1, per_hour=200)[0])
    others = {
        k: f"{k.lower()}-{secrets.token_hex(10)}"
        for k in (
            "DMVWATCH_KAFKA__SASL_PASSWORD",
            "DMVWATCH_KAFKA__SSL_KEY_PASSWORD",
            "DMVWATCH_PSEUDONYM__KEY",
            "DMVWATCH_PSEUDONYM__PREVIOUS_KEY",
            "DMVWATCH_ALERTS__WEBHOOK_SECRET",
            "DMVWATCH_EXPORT__SIGNING_KEY",
        )
    }
    env = h.worker_env(
        kafka_bootstrap,
        redis_url,
        topic,
        unique_group,
        **others,
        DMVWATCH_REDIS__USERNAME=name,
        DMVWATCH_REDIS__PASSWORD=password,
    )
    good = _run(env, tmp_path / "good.log", "assigned")
    assert "worker started" in good
    wrong = "wrong-" + secrets.token_hex(8)
    bad = _run(
        {**env, "DMVWATCH_REDIS__PASSWORD": wrong, "DMVWATCH_KAFKA__GROUP_ID": unique_group + "-b"},
        tmp_path / "bad.log",
        "Redis unavailable",
        signal.SIGKILL,
    )
    for secret in (password, wrong, *others.values()):
        assert secret not in good, "a secret in the log of a healthy run"
        assert secret not in bad, "a secret in the log of a run with a wrong Redis password"
