"""No clear-text personal data anywhere downstream of the decoder.

Input carries clear-text names, dates of birth, license numbers and plates (`search.name/dob/oln/plate`)
of synthetic people, looked up often enough to raise subject alerts. The real worker (Kafka + a private
Redis, notifier to a capturing webhook, metrics served), `dmvwatch replay` and `dmvwatch export` run
over it; then every Redis key and value (type-aware, checkpoint blobs decompressed), the AOF files, the
worker log at DEBUG, the metrics scrape, the replay outputs, the webhook bodies and the export files are
searched for those values: zero hits. (The dead-letter topic keeps original bytes by design.)
"""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import redis

from tests.integration import faults as f
from tests.integration import runtime_harness as h
from tests.integration.alerting_helpers import WebhookSink, free_port
from tests.integration.traffic import build


@pytest.fixture
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[f.PrivateStack]:
    s = f.PrivateStack(tmp_path_factory.mktemp("stack"))
    try:
        s.up("redis")
        yield s
    finally:
        s.down("redis")


# Three days later: the watermark passes subject_focus's 72-hour span, so the bursts are decided.
LATER = orjson.dumps({
    "schema": "dmvq.query.v1", "event_id": "q-leak-later", "ts": "2026-10-08T12:00:00.000Z",
    "source": "nlets", "message_key": "RQ", "originating_ori": "OR0000001",
    "agency": {"category": "PD"}, "destinations": ["WA"], "search": {"mode": "plate", "subject_key": "s-0"},
})  # fmt: skip


def _people(n: int) -> list[dict[str, str]]:
    out = []
    for i in range(n):
        tag = secrets.token_hex(4).upper()
        out.append({
            "name": f"Qzv{tag} Ymplarsk{i}", "dob": f"19{40 + i}-0{1 + i % 9}-2{i % 8}",
            "oln": f"WDL{tag}{i}Q", "plate": f"ZQ{tag}{i}",
        })  # fmt: skip
    return out


def _with_clear_text(lines: list[bytes], people: list[dict[str, str]]) -> list[bytes]:
    """Immigration look-ups get clear-text identifiers of a few people (each looked up many times)."""
    out, k = [], 0
    modes = [
        ("plate", ("plate",)),
        ("oln", ("oln",)),
        ("name_dob_sex", ("name", "dob")),
        ("name_only", ("name",)),
    ]
    for raw in lines:
        if b"XXSYNICE" in raw and b'"dmvq.query.v1"' in raw:
            doc = orjson.loads(raw)
            person = people[k % len(people)]
            mode, fields = modes[(k // len(people)) % len(modes)]
            doc["search"] = {"mode": mode, **{fld: person[fld] for fld in fields}}
            raw, k = orjson.dumps(doc), k + 1
        out.append(raw)
    return out


def _needles(people: list[dict[str, str]]) -> set[bytes]:
    found = set()
    for p in people:
        for value in p.values():
            for v in (value, value.upper(), value.replace(" ", "")):
                found.add(v.encode())
        found.update(part.encode() for part in p["name"].split())
    return found


def _redis_dump(client: redis.Redis) -> bytes:
    """Every key and value of the database, read by type; checkpoint blobs decompressed."""
    chunks: list[bytes] = []
    for key in client.scan_iter(count=1000):
        chunks.append(key)
        kind = client.type(key)
        if kind == b"string":
            values: list[bytes] = [client.get(key) or b""]
        elif kind == b"hash":
            values = [x for kv in client.hgetall(key).items() for x in kv]
        elif kind == b"list":
            values = client.lrange(key, 0, -1)
        elif kind == b"set":
            values = list(client.smembers(key))
        elif kind == b"zset":
            values = [m for m, _ in client.zrange(key, 0, -1, withscores=True)]
        elif kind == b"stream":
            values = [x for _, fields in client.xrange(key) for kv in fields.items() for x in kv]
        else:
            values = []
        for v in values:
            chunks.append(v)
            if b":ckpt:" in key:
                with contextlib.suppress(zlib.error):
                    chunks.append(zlib.decompress(v))
    return b"\n".join(chunks)


def _files(root: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_no_clear_text_identifier_survives_anywhere(
    stack: f.PrivateStack,
    kafka_bootstrap: str,
    new_topic: Callable[..., str],
    unique_group: str,
    tmp_path: Path,
) -> None:
    people = _people(4)
    lines = [*_with_clear_text(build(seed=81, hours=3)[0], people), LATER]
    raw_input = b"\n".join(lines)
    assert all(p[k].encode() in raw_input for p in people for k in p), "positive control: input has them"
    topic, port, hook_port = new_topic(1), free_port(), free_port()
    client = redis.Redis.from_url(stack.redis_url(1))
    client.flushdb()
    env = h.worker_env(
        kafka_bootstrap,
        stack.redis_url(1),
        topic,
        unique_group,
        DMVWATCH_LOG_LEVEL="DEBUG",
        DMVWATCH_METRICS__PORT=str(port),
        DMVWATCH_ALERTS__WEBHOOK_URLS=f'["http://127.0.0.1:{hook_port}/hook"]',
        DMVWATCH_ALERTS__GROUP_WAIT_S="0",
        DMVWATCH_ALERTS__GROUP_INTERVAL_S="1",
        DMVWATCH_ALERTS__NOTIFIER_POLL_S="0.5",
    )
    h.produce(kafka_bootstrap, topic, lines)
    log = tmp_path / "worker.log"
    with WebhookSink(hook_port) as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "stream", "run"],
            cwd=h.ROOT,
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        try:
            h.wait_drained(kafka_bootstrap, client, unique_group, topic, [proc])
            deadline = time.monotonic() + 30
            while not sink.requests and time.monotonic() < deadline:
                time.sleep(0.3)
            time.sleep(2)
            scrape = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).content
        finally:
            h.stop([proc])
    alerts = {h_detector(client, i) for i in h.alert_ids(client)}
    assert "subject_focus" in alerts, "the clear-text subjects must have raised subject alerts"
    assert sink.requests, "no notification captured"

    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "in.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    cli_env = {**{k: v for k, v in env.items() if not k.startswith("DMVWATCH_ALERTS__")}, "COLUMNS": "200"}
    for args in (
        ["replay", str(tmp_path / "in.jsonl"), "--alerts-out", str(out / "alerts.jsonl"),
         "--aggregates-out", str(out / "aggregates.json"), "--quiet"],
        ["export", "--month", "2026-10", "--out", str(out / "export-redis"), "--quiet"],
        ["export", "--month", "2026-10", "--from-file", str(out / "aggregates.json"),
         "--out", str(out / "export-replay"), "--quiet"],
    ):  # fmt: skip
        done = subprocess.run([sys.executable, "-m", "stream", *args], cwd=h.ROOT, env=cli_env,
                              capture_output=True, timeout=180)  # fmt: skip
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        scrape += done.stdout + done.stderr
    time.sleep(1.5)  # appendfsync everysec
    places = {
        "redis": _redis_dump(client),
        "aof": _files(stack.aof_dir()),
        "worker log": log.read_bytes(),
        "metrics and CLI output": scrape,
        "webhook": b"\n".join(body for _, body in sink.requests),
        "replay and exports": _files(out),
    }
    assert all(places.values())
    hits = {(where, n.decode()) for where, data in places.items() for n in _needles(people) if n in data}
    assert not hits, f"clear text found: {sorted(hits)[:10]}"


def h_detector(client: redis.Redis, alert_id: str) -> str:
    return (client.hget(f"dmvq:alert:{alert_id}", "detector") or b"").decode()
