"""Pipeline core: dedup, multi-state families, join in either order, watermark, late path, restore.

Timeline notation: T0 = 00:00, one column = 1 minute; q = query, r = response, L = late.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from stream.detectors.base import Detector, DetectorContext, Params
from stream.findings import Finding
from stream.pipeline import Pipeline, PipelineConfig
from stream.records import Query, Response
from tests.unit.factories import T0, make_query, make_response


class Recorder(Detector):
    """Records what it is shown; fires once per ORI per 10-minute bucket at 3 logical queries."""

    kind = "bulk_sweep"

    def __init__(self, kind: str = "bulk_sweep") -> None:
        super().__init__(Params(), DetectorContext(policy=None))
        self.kind = kind  # type: ignore[misc]
        self.queries: list[str] = []
        self.responses: list[tuple[str, str | None]] = []
        self.watermarks: list[float] = []
        self.counts: dict[str, int] = {}
        self.fired: set[str] = set()

    def on_query(self, q: Query) -> Iterable[Finding]:
        self.queries.append(q.event_id)
        if not q.first_of_logical:
            return ()
        bucket = int(q.ts // 600 * 600)
        key = f"{q.ori}|{bucket}"
        self.counts[key] = self.counts.get(key, 0) + 1
        if self.counts[key] >= 3 and key not in self.fired:
            self.fired.add(key)
            return [Finding(self.kind, "high", q.ori, q.ori, bucket, q.ts, "t", {"n": self.counts[key]})]
        return ()

    def on_response(self, r: Response, q: Query | None) -> Iterable[Finding]:
        self.responses.append((r.event_id, q.event_id if q else None))
        return ()

    def on_watermark(self, watermark: float) -> Iterable[Finding]:
        self.watermarks.append(watermark)
        return ()

    def snapshot(self) -> dict[str, Any]:
        return {"counts": self.counts, "fired": sorted(self.fired)}

    def restore(self, state: dict[str, Any]) -> None:
        self.counts = dict(state["counts"])
        self.fired = set(state["fired"])


class NoPolicy:
    version = "test"

    def state(self, code: str) -> None:
        return None


def make_pipeline(
    *dets: Recorder, lateness: float = 120, join: float = 300
) -> tuple[Pipeline, dict[str, int]]:
    seen = {"late": 0, "dup": 0}

    def late(kind: str) -> None:
        seen["late"] += 1

    def dup() -> None:
        seen["dup"] += 1

    cfg = PipelineConfig(allowed_lateness_s=lateness, join_window_s=join, tick_s=60)
    return Pipeline(list(dets), NoPolicy(), cfg, on_late=late, on_duplicate=dup), seen


def test_redelivered_event_is_processed_once() -> None:
    det = Recorder()
    p, seen = make_pipeline(det)
    q = make_query(event_id="q1")
    p.process(q)
    p.process(make_query(event_id="q1"))
    assert det.queries == ["q1"]
    assert seen["dup"] == 1


def test_multi_state_family_counts_once_in_either_order() -> None:
    # child-AZ arrives before its parent: the family still counts as one logical query
    det = Recorder()
    p, _ = make_pipeline(det)
    child = make_query(event_id="p1-AZ", parent_query_id="p1", destinations=("AZ",))
    parent = make_query(event_id="p1", destinations=("NL",), ts=T0 + 1)
    child2 = make_query(event_id="p1-OR", parent_query_id="p1", destinations=("OR",), ts=T0 + 2)
    flags = []
    for q in (child, parent, child2):
        p.process(q)
        flags.append(q.first_of_logical)
    assert flags == [True, False, False]


def test_response_joins_its_query_in_either_order() -> None:
    #   q1 r1        r2 ... q2
    det = Recorder()
    p, _ = make_pipeline(det)
    q1 = make_query(event_id="q1")
    p.process(q1)
    p.process(make_response(q1, event_id="r1"))
    q2 = make_query(event_id="q2", ts=T0 + 30)
    p.process(make_response(q2, event_id="r2", ts=T0 + 20))  # response first
    assert det.responses == [("r1", "q1")]
    p.process(q2)
    assert det.responses == [("r1", "q1"), ("r2", "q2")]


def test_unmatched_response_is_released_alone_after_the_join_window() -> None:
    #   r(orphan) at 0 ........ events until 0+lateness+join+tick: released with q=None
    det = Recorder()
    p, _ = make_pipeline(det, lateness=60, join=120)
    p.process(make_response(None, event_id="r-orphan", in_reply_to="never", ts=T0))
    p.process(make_query(event_id="qa", ts=T0 + 100))
    assert det.responses == []
    p.process(make_query(event_id="qb", ts=T0 + 60 + 120 + 60))
    assert det.responses == [("r-orphan", None)]


def test_drain_releases_waiting_responses_without_moving_event_time() -> None:
    det = Recorder()
    p, _ = make_pipeline(det)
    p.process(make_response(None, event_id="r-x", in_reply_to="nope", ts=T0))
    marks = list(det.watermarks)
    p.drain()
    assert det.responses == [("r-x", None)]
    assert det.watermarks == marks


def test_late_events_take_the_counted_late_path() -> None:
    #   q@10min  ...  q@0 (late by 10 min with 2 min allowed lateness): counted, windowed detector skips
    windowed, per_event = Recorder("bulk_sweep"), Recorder("policy_violation")
    p, seen = make_pipeline(windowed, per_event, lateness=120)
    p.process(make_query(event_id="new", ts=T0 + 600))
    p.process(make_query(event_id="old", ts=T0))
    assert seen["late"] == 1
    assert windowed.queries == ["new"]
    assert per_event.queries == ["new", "old"]


def test_watermark_is_aligned_and_monotone() -> None:
    det = Recorder()
    p, _ = make_pipeline(det, lateness=120)
    for i, offset in enumerate((0, 400, 350, 1000, 10)):
        p.process(make_query(event_id=f"e{i}", ts=T0 + offset))
    assert det.watermarks == sorted(det.watermarks)
    assert all(w % 60 == 0 for w in det.watermarks)
    assert det.watermarks[-1] == T0 + 1000 - 120 - (1000 - 120) % 60


def test_tick_advances_event_time_when_the_feed_is_idle() -> None:
    det = Recorder()
    p, _ = make_pipeline(det, lateness=60)
    p.process(make_query(ts=T0))
    before = p.watermark
    p.tick(T0 + 3600)
    assert p.watermark == T0 + 3600 - 60 > before


def test_restore_mid_stream_gives_the_same_findings_as_an_uninterrupted_run() -> None:
    events = [make_query(event_id=f"q{i}", ts=T0 + i * 100, ori="WA0340000") for i in range(12)]
    events += [make_response(events[3], event_id="r3", ts=T0 + 5000)]
    whole, _ = make_pipeline(Recorder())
    expected = [f.alert_id("v") for e in events for f in whole.process(e)]

    first, _ = make_pipeline(Recorder())
    got = [f.alert_id("v") for e in events[:5] for f in first.process(e)]
    import orjson

    state = orjson.loads(orjson.dumps(first.snapshot()))  # must survive JSON
    second, _ = make_pipeline(Recorder())
    second.restore(state)
    got += [f.alert_id("v") for e in events[5:] for f in second.process(e)]
    assert got == expected and len(expected) >= 2
