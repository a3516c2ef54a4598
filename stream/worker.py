"""`dmvwatch run`: the consumer-group worker (confluent-kafka) around the pure pipeline.

Loop: consume a batch -> decode (bad input to the dead-letter topic, counted) -> per-partition
pipeline -> alerts written idempotently to Redis -> every checkpoint interval, one Redis transaction
with pipeline state + offsets + monthly aggregate increments -> commit offsets to Kafka. Redis down:
partitions pause, nothing is dropped, the loop retries. SIGTERM: finish the batch, flush, checkpoint,
commit, leave the group.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from stream import failpoints
from stream.app import Core
from stream.checkpoint import CheckpointStore
from stream.codec import decode_event
from stream.errors import DecodeError, SinkUnavailable
from stream.findings import Alert, to_alert
from stream.pipeline import Pipeline
from stream.records import Query
from stream.topology import Router, plan

log = logging.getLogger("dmvwatch.worker")
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError, SinkUnavailable)


class _Stopping(Exception):
    """Raised inside a Kafka callback when a stop was requested while Redis was unavailable."""


@dataclass
class PartitionTask:
    topic: str
    partition: int
    role: str  # single | route | join | agency | subject | state (see stream/topology.py)
    pipeline: Pipeline | None
    aggregator: Any
    next_offset: int | None = None
    saved_offset: int | None = None
    last_event_wall: float = field(default_factory=time.time)
    last_advance_wall: float = field(default_factory=time.time)  # last time event time moved
    unsaved: dict[str, dict[str, int]] = field(default_factory=dict)

    def take_delta(self) -> dict[str, dict[str, int]]:
        if self.aggregator is None:
            return self.unsaved
        for month, delta in self.aggregator.drain().items():
            bucket = self.unsaved.setdefault(month, {})
            for k, v in delta.items():
                bucket[k] = bucket.get(k, 0) + v
        return self.unsaved


class Worker:
    def __init__(
        self,
        core: Core,
        redis_client: redis.Redis,
        metrics: Any,
        alert_store: Any,
        aggregate_store: Any,
        aggregator_factory: Callable[[], Any],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.core = core
        s = core.settings
        self.settings = s
        self.redis = redis_client
        self.metrics = metrics
        self.alerts = alert_store
        self.aggregates = aggregate_store
        self.new_aggregator = aggregator_factory
        self.clock = clock
        self.ckpt = CheckpointStore(redis_client, s.redis.key_prefix, s.kafka.group_id)
        self.tasks: dict[tuple[str, int], PartitionTask] = {}
        self.pending: list[tuple[Alert, float]] = []
        self.paused = False
        self._last_ckpt = clock()
        self._ckpt_cost = 0.0  # seconds the last checkpoint took (snapshot + Redis)
        self._stop = threading.Event()
        self._retry_at = 0.0
        self._uncommitted: dict[tuple[str, int], TopicPartition] = {}
        base = s.kafka.client_config()
        self.consumer = Consumer(
            {
                **base,
                "group.id": s.kafka.group_id,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": 10_000,
                "heartbeat.interval.ms": 1_000,
                "fetch.min.bytes": 1,
                "queued.max.messages.kbytes": 65_536,
            }
        )
        self.producer = Producer(
            {
                **base,
                "enable.idempotence": True,
                "linger.ms": 5,
                "compression.type": "lz4",
                "queue.buffering.max.messages": 500_000,
            }
        )
        self.topology = plan(s.kafka, AdminClient(base))
        self.router = Router(self.producer, self.topology)
        log.info(
            "topology: repartition=%s, topics %s", self.topology.repartition, self.topology.subscriptions
        )

    # -- partition lifecycle -----------------------------------------------------------------
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            offset, state = self._load_checkpoint(tp)
            role = self.topology.role(tp.topic)
            # Tasks that raise alerts count them in the monthly aggregates (only single/agency tasks
            # also feed it queries: they are its observers).
            aggregator = self.new_aggregator() if role != "route" else None
            pipeline = self._pipeline(role, aggregator, int(tp.partition))
            if state and pipeline is not None:
                pipeline.restore(state)
            task = PartitionTask(tp.topic, tp.partition, role, pipeline, aggregator, offset, offset)
            self.tasks[(tp.topic, tp.partition)] = task
            if offset is not None:
                tp.offset = offset
            log.info("assigned %s[%d] from offset %s", tp.topic, tp.partition, offset)
        consumer.assign(partitions)
        if self.paused:
            consumer.pause(partitions)

    def _load_checkpoint(self, tp: TopicPartition) -> tuple[int | None, dict[str, Any] | None]:
        topic, partition = str(tp.topic), int(tp.partition)
        result: tuple[int | None, dict[str, Any] | None] = self._retry_redis(
            lambda: self.ckpt.load(topic, partition)
        )
        return result

    def _pipeline(self, role: str, aggregator: Any, partition: int) -> Pipeline | None:
        hooks = {"on_late": self.metrics.late_event, "on_duplicate": self.metrics.duplicate}
        if role == "route":
            return None
        if role == "join":
            # Join partition 0 holds a uniform sample of the whole feed (keys are query ids): the one
            # place where the tap's silence is watched, so one outage is one alert.
            scope = "feed" if partition == 0 else "none"
            return self.core.new_pipeline([self.router], scope=scope, on_duplicate=self.metrics.duplicate)
        if role in ("subject", "state"):
            return self.core.new_pipeline([], scope=role)
        return self.core.new_pipeline(
            [self.metrics, aggregator], scope="all" if role == "single" else "agency", **hooks
        )

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        try:
            self._flush_alerts(force=True)
            self._checkpoint()
        except REDIS_ERRORS:
            log.warning("revoked while Redis is down: the next owner resumes from the last checkpoint")
        for tp in partitions:
            self.tasks.pop((tp.topic, tp.partition), None)
            self.metrics.drop_partition(tp.topic, tp.partition)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self.tasks.pop((tp.topic, tp.partition), None)
            self.metrics.drop_partition(tp.topic, tp.partition)

    def _retry_redis(self, fn: Callable[[], Any]) -> Any:
        delay = 0.2
        while True:
            if self._stop.is_set():  # SIGTERM while Redis is away: give up the retry, shut down
                raise _Stopping
            try:
                result = fn()
                self.metrics.set_redis_up(True)
                return result
            except REDIS_ERRORS:
                self.metrics.set_redis_up(False)
                log.warning("Redis unavailable; retrying in %.1fs", delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    # -- main loop ---------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        self._stop = stop
        self.consumer.subscribe(
            self.topology.subscriptions,
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        try:
            while not stop.is_set():
                self.step()
        except _Stopping:
            log.warning("stopped while waiting for Redis: resuming from the last checkpoint next time")
        finally:
            self.shutdown()

    def step(self) -> int:
        """One batch: consume, process, flush alerts, maybe checkpoint. Returns messages handled."""
        k = self.settings.kafka
        msgs = self.consumer.consume(k.batch_size, k.poll_timeout_s)
        started = time.perf_counter()
        now = self.clock()
        handled = 0
        for msg in msgs:
            err = msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    log.warning("consume error: %s", err)
                continue
            task = self.tasks.get((str(msg.topic()), int(msg.partition() or 0)))
            if task is not None:
                self._handle(task, msg, now)
                handled += 1
        if handled:
            self.metrics.observe_batch(time.perf_counter() - started, handled)
        self._idle_ticks(now)
        self._flush_alerts()
        if now - self._last_ckpt >= self._checkpoint_every():
            self._try_checkpoint()
        return handled

    def _handle(self, task: PartitionTask, msg: Message, now: float) -> None:
        raw = msg.value() or b""
        task.next_offset = int(msg.offset() or 0) + 1
        try:
            if task.role in ("single", "route"):
                event = self.core.decoder.decode(raw, now)
                joined = None
            else:
                event, joined = self._internal(raw)
        except DecodeError as exc:
            self._dead_letter(msg, raw, exc)
            return
        task.last_event_wall = task.last_advance_wall = now
        if task.pipeline is None:
            self.router.route(event)
            return
        if isinstance(event, Query) or task.role in ("single", "join"):
            findings = task.pipeline.process(event)
        else:
            findings = task.pipeline.process_joined(event, joined)
        if findings:
            self._raise(task, findings, now, msg.timestamp()[1] / 1000.0)

    @staticmethod
    def _internal(raw: bytes) -> tuple[Any, Query | None]:
        try:
            return decode_event(raw)
        except Exception as exc:  # written by us; unreadable means a bug or a foreign writer
            raise DecodeError("internal_corrupt", type(exc).__name__) from None

    def _raise(self, task: PartitionTask, findings: list[Any], now: float, appended: float) -> None:
        for f in findings:
            alert = to_alert(f, self.core.policy.version, now, self.settings.alerts.runbook_base_url)
            if task.aggregator is not None:
                task.aggregator.on_alert(alert)
            self.metrics.alert(alert.detector, alert.severity)
            self.pending.append((alert, appended))

    def _dead_letter(self, msg: Message, raw: bytes, exc: DecodeError) -> None:
        headers: list[tuple[str, str | bytes | None]] = [
            ("dlq.source.topic", str(msg.topic()).encode()),
            ("dlq.source.partition", str(msg.partition()).encode()),
            ("dlq.source.offset", str(msg.offset()).encode()),
            ("dlq.error.class", exc.reason.encode()),
            ("dlq.error.message", exc.detail.encode("utf-8", "replace")[:1000]),
        ]
        topic = self.settings.kafka.dead_letter_topic
        try:
            self._produce(topic, raw, msg.key(), headers)
        except KafkaException as err:
            if err.args[0].code() != KafkaError.MSG_SIZE_TOO_LARGE:
                raise
            # Bigger than the producer may send (1 MB by default): without this the worker would die
            # on the same message at every restart. Keep its head and say how long it was.
            headers.append(("dlq.truncated_from", str(len(raw)).encode()))
            keep = self.settings.runtime.max_message_bytes
            self._produce(topic, raw[:keep], msg.key(), headers)
        self.producer.poll(0)
        self.metrics.dead_letter(exc.reason)

    def _produce(self, topic: str, value: bytes, key: Any, headers: Any) -> None:
        while True:
            try:
                self.producer.produce(topic, value=value, key=key, headers=headers)
                return
            except BufferError:  # local queue full (a flood of bad input): let it drain, then retry
                self.producer.poll(0.1)

    def _idle_ticks(self, now: float) -> None:
        idle = self.settings.runtime.idle_close_s
        for task in self.tasks.values():
            quiet = now - task.last_advance_wall
            if task.pipeline is not None and quiet >= idle and task.pipeline.max_ts != float("-inf"):
                # No event for a while: event time follows the wall clock, so idle windows still close
                # and a silent feed is noticed.
                findings = task.pipeline.tick(task.pipeline.max_ts + quiet)
                task.last_advance_wall = now
                self._raise(task, findings, now, now)

    # -- sinks and checkpoints ---------------------------------------------------------------
    def _flush_alerts(self, force: bool = False) -> None:
        if not self.pending or (self.paused and not force and self.clock() < self._retry_at):
            return
        started = time.perf_counter()
        try:
            self.alerts.write([a for a, _ in self.pending])
        except REDIS_ERRORS:
            self._pause()
            if force:
                raise
            return
        failpoints.hit("after_alert_write")
        self.metrics.observe_redis_write(time.perf_counter() - started)
        done = self.clock()
        for _, appended in self.pending:
            self.metrics.observe_event_to_alert(max(0.0, done - appended))
        self.pending.clear()
        self._resume()

    def _pause(self) -> None:
        self.metrics.set_redis_up(False)
        self._retry_at = self.clock() + 1.0
        if not self.paused:
            log.warning("Redis unavailable: pausing %d partitions", len(self.tasks))
            self.consumer.pause([TopicPartition(t, p) for t, p in self.tasks])
            self.paused = True

    def _resume(self) -> None:
        self.metrics.set_redis_up(True)
        if self.paused:
            log.info("Redis back: resuming %d partitions", len(self.tasks))
            self.consumer.resume([TopicPartition(t, p) for t, p in self.tasks])
            self.paused = False

    def _checkpoint_every(self) -> float:
        """The configured interval, stretched so checkpoints never take more than ~1/budget of the time:
        a big state (a national day of windows) is saved less often rather than stalling the stream."""
        rt = self.settings.runtime
        return max(rt.checkpoint_interval_s, self._ckpt_cost * rt.checkpoint_cost_budget)

    def _try_checkpoint(self) -> None:
        if self.pending:
            return  # alerts first: offsets never run ahead of what is durable
        try:
            self._checkpoint()
        except REDIS_ERRORS:
            self._pause()
            return
        self._resume()  # an outage first seen by a checkpoint ends here (no alert write may follow)

    def _checkpoint(self) -> None:
        self._last_ckpt = self.clock()
        self._report(list(self.tasks.values()))  # lag of every assigned partition, stuck ones too
        dirty = [
            t for t in self.tasks.values() if t.next_offset is not None and t.next_offset != t.saved_offset
        ]
        if not dirty:
            self._commit([])  # a commit that failed earlier (broker restart) is retried here
            return
        if self.producer.flush(30):
            # Broker unreachable: dead letters not durable yet, so their offsets are not saved either.
            log.warning("producer not flushed (Kafka unreachable): checkpoint postponed")
            return
        started = time.perf_counter()
        pipe = self.redis.pipeline(transaction=True)
        for task in dirty:
            self.aggregates.stage(pipe, task.take_delta())
            assert task.next_offset is not None
            state = task.pipeline.lazy_snapshot() if task.pipeline is not None else {}
            self.ckpt.stage(pipe, task.topic, task.partition, task.next_offset, state)
        failpoints.hit("during_checkpoint")
        pipe.execute()
        failpoints.hit("after_checkpoint_write")
        self._ckpt_cost = time.perf_counter() - started
        self.metrics.observe_checkpoint(self._ckpt_cost)
        offsets = []
        for task in dirty:
            task.unsaved = {}
            task.saved_offset = task.next_offset
            offsets.append(TopicPartition(task.topic, task.partition, int(task.next_offset or 0)))
        self._commit(offsets)
        self._report(dirty)

    def _commit(self, offsets: list[TopicPartition]) -> None:
        for tp in offsets:
            self._uncommitted[(tp.topic, tp.partition)] = tp
        owned = [tp for key, tp in self._uncommitted.items() if key in self.tasks]
        if not owned:
            return
        try:
            self.consumer.commit(offsets=owned, asynchronous=False)
        except KafkaException as exc:
            # Redis holds the checkpoint partitions resume from; the Kafka commit (lag monitoring) of
            # what is already saved can wait for the broker, e.g. while it restarts.
            log.warning("offset commit failed (%s): retried at the next checkpoint", exc.args[0].name())
            return
        self._uncommitted.clear()

    def _report(self, tasks: list[PartitionTask]) -> None:
        now = self.clock()
        for task in tasks:
            try:
                # cached: the high watermark of the last fetch response, no broker round trip
                _, high = self.consumer.get_watermark_offsets(
                    TopicPartition(task.topic, task.partition), cached=True
                )
            except Exception:  # lag is best-effort telemetry; never fail a checkpoint on it
                continue
            if high < 0:  # nothing fetched yet
                continue
            lag = max(0, high - (task.next_offset or 0))
            self.metrics.set_partition(task.topic, task.partition, lag, task.last_event_wall or now)
            if task.pipeline is None:
                continue
            for kind, n in task.pipeline.state_sizes().items():
                self.metrics.set_state_size(kind, n)
            if task.pipeline.watermark != float("-inf"):
                self.metrics.set_watermark(task.pipeline.watermark)

    def shutdown(self) -> None:
        """Graceful stop: the current batch is done; flush, checkpoint, commit, leave the group."""
        try:
            self._flush_alerts(force=True)
            self._checkpoint()
        except REDIS_ERRORS:
            log.error("Redis unavailable at shutdown: resuming from the last checkpoint next time")
        finally:
            self.producer.flush(10)
            self.consumer.close()
