"""Custom Prometheus collectors behind `stream.metrics`: state read when Prometheus scrapes.

The hot-path tables are plain numbers incremented by the consumer thread and turned into metric families
by the exporter thread; the open-alert gauge asks the alert store at scrape time.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

OPEN_ALERTS_DOC = "Open (not yet resolved) alerts in the alert store, by severity."


@dataclass(frozen=True, slots=True)
class CounterSpec:
    """A labelled hot-path counter and every label combination it may take."""

    name: str  # without the `_total` suffix, as CounterMetricFamily wants it
    doc: str
    labels: tuple[str, ...]
    keys: tuple[tuple[str, ...], ...]


class CounterTable:
    """A labelled counter kept as plain numbers in a dict and exported at scrape time.

    All keys exist from the start (value 0) and none is ever added, so a scrape thread can read the
    dict while the consumer thread increments it (no resize, no lock needed under the GIL).
    """

    __slots__ = ("spec", "values")

    def __init__(self, spec: CounterSpec) -> None:
        self.spec = spec
        self.values: dict[tuple[str, ...], float] = dict.fromkeys(spec.keys, 0)

    def family(self) -> CounterMetricFamily:
        fam = CounterMetricFamily(self.spec.name, self.spec.doc, labels=self.spec.labels)
        for key, value in list(self.values.items()):
            fam.add_metric(key, value)
        return fam


class HistogramTable:
    """An unlabelled histogram kept as plain per-bucket counts, exported cumulatively at scrape time.

    For per-event observations: `bisect` plus two additions instead of a locked child per observe.
    Buckets follow Prometheus' `le` semantics (an observation equal to a bound falls in that bucket).
    """

    __slots__ = ("bounds", "counts", "doc", "name", "sum")

    def __init__(self, name: str, doc: str, bounds: tuple[float, ...]) -> None:
        self.name, self.doc, self.bounds = name, doc, bounds
        self.counts = [0] * (len(bounds) + 1)  # the last slot is +Inf
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def family(self) -> HistogramMetricFamily:
        cumulative, buckets = 0, []
        for bound, n in zip((*map(floatToGoString, self.bounds), "+Inf"), list(self.counts), strict=True):
            cumulative += n
            buckets.append((bound, cumulative))
        return HistogramMetricFamily(self.name, self.doc, buckets=buckets, sum_value=self.sum)


class TableCollector:
    """The hot-path counter tables as one custom collector (read at scrape time)."""

    def __init__(self, counters: tuple[CounterSpec, ...], latency: HistogramTable) -> None:
        self.by_name = {spec.name: CounterTable(spec) for spec in counters}
        self.latency = latency

    def describe(self) -> Iterator[Metric]:
        yield from (CounterMetricFamily(t.spec.name, t.spec.doc, labels=t.spec.labels) for t in self)
        yield HistogramMetricFamily(self.latency.name, self.latency.doc)

    def collect(self) -> Iterator[Metric]:
        yield from (t.family() for t in self)
        yield self.latency.family()

    def __iter__(self) -> Iterator[CounterTable]:
        return iter(self.by_name.values())


class OpenAlertsCollector:
    """`dmvwatch_open_alerts{severity}` from the alert store, read at scrape time."""

    def __init__(self, open_count: Callable[[str, str], int], severities: tuple[str, ...]) -> None:
        self._count = open_count
        self._severities = severities

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("dmvwatch_open_alerts", OPEN_ALERTS_DOC, labels=["severity"])

    def collect(self) -> Iterator[Metric]:
        try:
            counts = [(sev, self._count("severity", sev)) for sev in self._severities]
        except Exception:  # store down: a scrape must not fail because of it
            return
        fam = GaugeMetricFamily("dmvwatch_open_alerts", OPEN_ALERTS_DOC, labels=["severity"])
        for sev, n in counts:
            fam.add_metric([sev], n)
        yield fam


_OPEN_DOC = "Open (not yet resolved) alerts in the alert store, by severity."
