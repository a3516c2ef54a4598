"""AlertStore and Lifecycle on the real Redis: idempotent writes, indexes, audit, time to acknowledge."""

from __future__ import annotations

import json

import pytest
import redis

from stream.alerting.lifecycle import Lifecycle, TransitionRefused
from stream.alerting.store import AlertStore

from .alerting_helpers import T0, make_alert

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_same_alert_written_three_times_is_one_alert(redis_client: redis.Redis) -> None:
    clock = Clock(T0)
    store = AlertStore(redis_client, prefix="t", stream_maxlen=1000, now=clock)
    alert = make_alert(ori="XXSYN0001")
    pubsub = redis_client.pubsub()
    pubsub.subscribe("t:alerts:live")
    pubsub.get_message(timeout=1)  # subscribe confirmation

    assert store.write([alert]) == 1
    clock.t = T0 + 10
    assert store.write([alert, alert]) == 0

    assert redis_client.xlen("t:alerts") == 1
    stored = store.get(alert.alert_id)
    assert stored is not None
    assert stored.status == "firing"
    assert stored.occurrences == 3  # type: ignore[attr-defined]
    assert stored.first_seen == T0 and stored.last_seen == T0 + 10  # type: ignore[attr-defined]
    live = pubsub.get_message(timeout=2)
    assert live is not None and json.loads(live["data"])["alert_id"] == alert.alert_id
    assert pubsub.get_message(timeout=0.2) is None  # re-writes are not re-published
    pubsub.close()


def test_stage_joins_the_callers_transaction(redis_client: redis.Redis) -> None:
    store = AlertStore(redis_client, prefix="t")
    first, second = make_alert(ori="XXSYN0002"), make_alert(ori="XXSYN0003")
    with redis_client.pipeline(transaction=True) as pipe:
        store.stage(pipe, first)
        pipe.set("t:checkpoint", "offsets-42")
        store.stage(pipe, second)
        store.stage(pipe, first)
        results = pipe.execute()
    assert results == [1, True, 1, 0]
    assert redis_client.get("t:checkpoint") == b"offsets-42"
    assert redis_client.xlen("t:alerts") == 2


def test_rewrite_keeps_status_and_ack(redis_client: redis.Redis) -> None:
    clock = Clock(T0)
    store = AlertStore(redis_client, prefix="t", now=clock)
    life = Lifecycle(redis_client, prefix="t", now=clock)
    alert = make_alert(ori="XXSYN0004")
    store.write([alert])
    clock.t = T0 + 125
    assert life.acknowledge(alert.alert_id, actor="oncall-1", reason="looking") == "firing"
    clock.t = T0 + 200
    assert store.write([alert]) == 0  # a replay after a restart
    stored = store.get(alert.alert_id)
    assert stored is not None
    assert stored.status == "acknowledged"
    assert stored.acked_by == "oncall-1" and stored.ack_seconds == 125  # type: ignore[attr-defined]
    with pytest.raises(TransitionRefused):
        life.acknowledge(alert.alert_id, actor="oncall-2")


def test_indexes_filters_and_resolution(redis_client: redis.Redis) -> None:
    clock = Clock(T0)
    store = AlertStore(redis_client, prefix="t", now=clock)
    life = Lifecycle(redis_client, prefix="t", now=clock)
    a = make_alert("bulk_sweep", ori="XXSYN0005", state="WA", severity="high")
    b = make_alert("policy_violation", ori="XXSYN0005", state="NY", severity="critical")
    c = make_alert("feed_silence", ori=None, state=None, severity="warning")
    c = c.model_copy(update={"ori": None})
    store.write([a, b, c])

    assert {x.alert_id for x in store.list(ori="XXSYN0005")} == {a.alert_id, b.alert_id}
    assert [x.alert_id for x in store.list(ori="XXSYN0005", state="NY")] == [b.alert_id]
    assert [x.alert_id for x in store.list(severity="warning")] == [c.alert_id]
    assert [x.alert_id for x in store.list(detector="bulk_sweep", status="firing")] == [a.alert_id]

    clock.t = T0 + 60
    life.acknowledge(a.alert_id, "oncall-1", "checking evidence")
    assert [x.alert_id for x in store.list(status="acknowledged")] == [a.alert_id]
    clock.t = T0 + 600
    life.resolve(a.alert_id, "oncall-1", "false positive: registered fleet audit")
    assert a.alert_id not in {x.alert_id for x in store.list()}
    assert [x.alert_id for x in store.list(status="resolved")] == [a.alert_id]
    assert store.open_count("ori", "XXSYN0005") == 1

    steps = [(e.from_status, e.to_status, e.actor) for e in life.history(a.alert_id)]
    assert steps == [
        ("", "firing", "monitor"),
        ("firing", "acknowledged", "oncall-1"),
        ("acknowledged", "resolved", "oncall-1"),
    ]
    audit = redis_client.xrange("t:alerts:audit")
    assert len(audit) == 3 + 2  # three raised, one ack, one resolve
    with pytest.raises(TransitionRefused):
        life.resolve(a.alert_id, "oncall-2")
