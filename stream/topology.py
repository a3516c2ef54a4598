"""Scale-out by Kafka: which topics a worker reads, and how records are re-keyed between hops.

Single hop (`repartition=off`, or `auto` with a one-partition input): each input partition runs the
whole pipeline. Repartitioned (`on`, or `auto` with several input partitions), three internal hops:

  input --decode, DLQ--> <in>.by-query  (key: the query's event id; its responses share the key)
        --dedup, join--> <in>.by-agency (key: federal component, else ORI)  -> agency detectors
                     +-> <in>.by-subject (key: subject pseudonym)            -> subject detectors
                     \\-> <in>.by-state   (key: destination state)            -> state detectors

so every window of one accountable agency (or one subject) lives in exactly one partition, and N
workers in one group compute what one worker computes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from stream.codec import encode_event
from stream.records import Agency, Query, Response
from stream.settings import KafkaSettings


@dataclass(frozen=True)
class Topology:
    inputs: tuple[str, ...]
    repartition: bool
    by_query: str
    by_agency: str
    by_subject: str
    by_state: str

    def role(self, topic: str) -> str:
        if topic in self.inputs:
            return "route" if self.repartition else "single"
        roles = {self.by_query: "join", self.by_agency: "agency", self.by_subject: "subject"}
        return roles.get(topic) or {self.by_state: "state"}[topic]

    @property
    def subscriptions(self) -> list[str]:
        internal = [self.by_query, self.by_agency, self.by_subject, self.by_state] if self.repartition else []
        return [*self.inputs, *internal]


def routing_key(agency: Agency) -> str:
    """The accountable agency: a federal component spans its ORIs, others are their ORI."""
    return f"c:{agency.component}" if agency.component else agency.ori


def join_key(event: Query | Response) -> str:
    return event.event_id if isinstance(event, Query) else event.in_reply_to


def plan(settings: KafkaSettings, admin: AdminClient) -> Topology:
    base = settings.input_topics[0]
    repartition = settings.repartition == "on"
    if settings.repartition == "auto":
        meta = admin.list_topics(timeout=10)
        parts = [len(meta.topics[t].partitions) for t in settings.input_topics if t in meta.topics]
        repartition = any(n > 1 for n in parts) or len(settings.input_topics) > 1
    topo = Topology(
        tuple(settings.input_topics),
        repartition,
        f"{base}.by-query",
        f"{base}.by-agency",
        f"{base}.by-subject",
        f"{base}.by-state",
    )
    wanted = [settings.dead_letter_topic] + (topo.subscriptions[len(topo.inputs) :] if repartition else [])
    ensure_topics(admin, wanted, settings.internal_partitions)
    return topo


def ensure_topics(admin: AdminClient, names: list[str], partitions: int) -> None:
    existing = admin.list_topics(timeout=10).topics
    missing = [
        NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names if n not in existing
    ]
    if missing:
        for future in admin.create_topics(missing).values():
            try:
                future.result(30)
            except Exception as exc:  # created meanwhile by another worker
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise
    # Subscribe only once every topic has leaders: a consumer subscribing to a topic its metadata does
    # not show yet would not see it until the next metadata refresh.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        topics = admin.list_topics(timeout=10).topics
        if all(_ready(topics.get(n)) for n in names):
            return
        time.sleep(0.2)
    raise TimeoutError(f"topics without leaders after 60 s: {names}")


def _ready(meta: Any) -> bool:
    return bool(
        meta is not None
        and meta.error is None
        and meta.partitions
        and all(p.leader >= 0 for p in meta.partitions.values())
    )


class Router:
    """Observer of the join hop: forwards each accepted record to the agency and subject hops."""

    def __init__(self, producer: Producer, topology: Topology) -> None:
        self.producer = producer
        self.topology = topology

    def _send(self, topic: str, key: str, value: bytes) -> None:
        while True:
            try:
                self.producer.produce(topic, key=key.encode(), value=value)
                return
            except BufferError:  # local queue full: let librdkafka drain, then retry
                self.producer.poll(0.1)

    def on_query(self, q: Query) -> None:
        blob = encode_event(q)
        self._send(self.topology.by_agency, routing_key(q.agency), blob)
        if q.subject_key:
            self._send(self.topology.by_subject, q.subject_key, blob)
            states = q.state_destinations
            if states:  # a multi-destination query goes with its first state (children cover NL)
                self._send(self.topology.by_state, states[0], blob)

    def on_response(self, r: Response, q: Query | None, leak: bool) -> None:
        blob = encode_event(r, q)
        key = routing_key(q.agency) if q is not None else f"unjoined:{r.responding_state}"
        self._send(self.topology.by_agency, key, blob)
        if q is not None and q.subject_key:
            self._send(self.topology.by_subject, q.subject_key, blob)
            self._send(self.topology.by_state, r.responding_state, blob)

    def route(self, event: Query | Response, blob: Any = None) -> None:
        """The input hop: everything about one query (and its responses) to one join partition."""
        self._send(self.topology.by_query, join_key(event), blob or encode_event(event))
