"""Grouped counts in aligned event-time windows, shared by the rule-based detectors.

`policy_violation`, `policy_leak`, `blocked_retry` and `s2s_misuse` all say "one finding per group key
per aligned window, with counts and sample event ids". A bucket is keyed by (group, floor(ts / W) * W),
counts distinct event ids (a redelivery never counts twice), tallies bounded labels and keeps the K
smallest sample ids (so evidence is the same whatever the arrival order). A bucket closes once the
watermark reaches its end; closed buckets come out sorted by (window start, group), never twice.

Late events (their window already closed) either drop (counted), or - for per-event rules where a
violation must not vanish - go to a "late" bucket tagged with the watermark they arrived under, which
closes at the next watermark. Its group key differs, so it never re-fires the original alert.
"""

from __future__ import annotations

import math
from bisect import insort
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field

from stream.detectors.base import Detector, Params
from stream.findings import Finding, iso


class WindowParams(Params):
    """Thresholds common to the grouped detectors."""

    window_s: int = Field(3600, ge=60, le=86_400, description="Aligned window length, seconds.")
    sample_size: int = Field(10, ge=1, le=100, description="Sample event ids kept as evidence.")
    max_ids: int = Field(20_000, ge=100, le=1_000_000, description="Distinct ids kept per bucket.")
    fire_early: bool = Field(
        False,
        description="Raise the finding as soon as the window reaches the threshold (evidence as of then) "
        "instead of when the window closes: for findings that must page at once.",
    )


def due_now(b: Bucket | None, params: WindowParams, threshold: int) -> bool:
    """Early firing: this event brought the bucket to its threshold (once per bucket)."""
    if b is None or not params.fire_early or b.count < threshold or "fired" in b.attrs:
        return False
    b.attrs["fired"] = "early"
    return True


def due_at_close(b: Bucket, threshold: int) -> bool:
    return b.count >= threshold and "fired" not in b.attrs


@dataclass(slots=True)
class Bucket:
    group: str
    start: float  # aligned window start (Finding.window_start)
    close_at: float
    attrs: dict[str, str] = field(default_factory=dict)  # e.g. ori, state, rule_id
    ids: dict[str, float] = field(default_factory=dict)  # event_id -> ts (dedup, cadence)
    count: int = 0
    first: float = math.inf
    last: float = -math.inf
    tallies: dict[str, dict[str, int]] = field(default_factory=dict)
    samples: dict[str, list[str]] = field(default_factory=dict)
    late: bool = False

    def tally(self, name: str, label: str, n: int = 1) -> None:
        per = self.tallies.setdefault(name, {})
        per[label] = per.get(label, 0) + n

    def sample(self, name: str, value: str, k: int) -> None:
        """Keep the k smallest values: the same set of events gives the same sample in any order."""
        kept = self.samples.setdefault(name, [])
        if value in kept or (len(kept) >= k and value >= kept[-1]):
            return
        insort(kept, value)
        del kept[k:]

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group, "start": self.start, "close_at": self.close_at, "attrs": self.attrs,
            "ids": self.ids, "count": self.count, "first": self.first, "last": self.last,
            "tallies": self.tallies, "samples": self.samples, "late": self.late,
        }  # fmt: skip

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Bucket:
        return cls(**d)


class Groups:
    """Open buckets plus the watermark they have seen; JSON snapshot/restore."""

    def __init__(self, params: WindowParams, late: str = "drop") -> None:
        self.window_s = float(params.window_s)
        self.max_ids = params.max_ids
        self.sample_size = params.sample_size
        self.late_mode = late  # "drop" | "rebucket"
        self.watermark = -math.inf
        self.late_dropped = 0
        self._open: dict[str, Bucket] = {}

    def __len__(self) -> int:
        return len(self._open)

    def add(self, group: str, ts: float, event_id: str, attrs: dict[str, str]) -> Bucket | None:
        """The bucket that now holds this event, or None (duplicate, or a dropped late event)."""
        start = math.floor(ts / self.window_s) * self.window_s
        close_at, key, late = start + self.window_s, f"{group}@{start:.0f}", False
        if close_at <= self.watermark:
            if self.late_mode != "rebucket":
                self.late_dropped += 1
                return None
            # Closes at the next watermark advance; tagged so its alert id is new.
            group = f"{group}|late@{self.watermark:.0f}"
            close_at, key, late = math.nextafter(self.watermark, math.inf), f"{group}@{start:.0f}", True
        bucket = self._open.get(key)
        if bucket is None:
            bucket = self._open[key] = Bucket(group, start, close_at, dict(attrs), late=late)
        if event_id in bucket.ids:
            return None
        if len(bucket.ids) < self.max_ids:  # past the cap, counts rely on the pipeline's dedup
            bucket.ids[event_id] = ts
        bucket.count += 1
        bucket.sample("event_ids", event_id, self.sample_size)
        bucket.first, bucket.last = min(bucket.first, ts), max(bucket.last, ts)
        return bucket

    def close(self, watermark: float) -> list[Bucket]:
        """Buckets whose window the watermark has passed, oldest window first."""
        self.watermark = max(self.watermark, watermark)
        done = [k for k, b in self._open.items() if b.close_at <= self.watermark]
        out = [self._open.pop(k) for k in done]
        out.sort(key=lambda b: (b.start, b.group))
        return out

    def snapshot(self) -> dict[str, Any]:
        wm = None if self.watermark == -math.inf else self.watermark
        buckets = [b.to_json() for b in self._open.values()]
        return {"watermark": wm, "late_dropped": self.late_dropped, "buckets": buckets}

    def restore(self, state: dict[str, Any]) -> None:
        wm = state.get("watermark")
        self.watermark = -math.inf if wm is None else float(wm)
        self.late_dropped = int(state.get("late_dropped", 0))
        self._open = {}
        for raw in state.get("buckets", []):
            b = Bucket.from_json(raw)
            self._open[f"{b.group}@{b.start:.0f}"] = b


def base_evidence(b: Bucket, params: WindowParams, threshold: float) -> dict[str, Any]:
    """What every grouped finding carries: enough to re-derive it from the events in its window."""
    return {
        "window_s": params.window_s,
        "window_start": iso(b.start),
        "first_event": iso(b.first),
        "last_event": iso(b.last),
        "late_bucket": b.late,
        "count": b.count,
        "threshold": threshold,
        **{f"by_{name}": dict(sorted(t.items())) for name, t in sorted(b.tallies.items())},
        **{f"sample_{name}": list(v) for name, v in sorted(b.samples.items())},
    }


def finding(kind: str, severity: str, b: Bucket, title: str, evidence: dict[str, Any]) -> Finding:
    return Finding(
        detector=kind,
        severity=severity,
        ori=b.attrs.get("ori"),
        group_key=b.group,
        window_start=b.start,
        window_end=b.last,
        title=title[:200],
        evidence=evidence,
        destination_state=b.attrs.get("state"),
        policy_rule_id=b.attrs.get("rule_id"),
    )


class GroupedRuleDetector(Detector):
    """The rule detectors that page early (`policy_violation`, `policy_leak`): their groups are their
    whole state; at close they raise the windows that reached `min_count` and did not fire early."""

    groups: Groups
    p: Any  # their WindowParams subclass, with `min_count`

    def _finding(self, b: Bucket) -> Finding:
        raise NotImplementedError

    def on_watermark(self, watermark: float) -> list[Finding]:
        return [self._finding(b) for b in self.groups.close(watermark) if due_at_close(b, self.p.min_count)]

    def snapshot(self) -> dict[str, Any]:
        return self.groups.snapshot()

    def restore(self, state: dict[str, Any]) -> None:
        self.groups.restore(state)

    def state_size(self) -> int:
        return len(self.groups)
