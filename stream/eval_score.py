"""Scoring of alerts against the simulator's ground-truth labels (issue 5, "Quality, measured").

Pure functions, no I/O: `stream.evaluation` runs the simulator and the replay pipeline, this module
decides which alert found which label. The rule:

- an alert *matches* a label when its detector is the label's detector (or one of the label's
  `also_expected` detectors, e.g. a blocked ICE query is also a restricted-use violation), its ORI is the
  label's ORI (or, for an `also_expected` detector, its `related_ori`; labels with `ori: null`, i.e.
  feed_silence, match on detector and time only), and its
  window [window_start, window_end] overlaps the label's [start, end] widened by `slack_s` on each side;
- recall of a detector = labels of that detector matched by at least one alert of that detector / labels;
- precision of a detector = its alerts matching some label (primary or also_expected) / all its alerts;
- an alert matching no label is a false alert. False alerts on an ORI that runs a scenario (collateral:
  the injected volume moved another detector) are counted apart from those on pure background.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def epoch(text: str) -> float:
    """RFC 3339 (with `Z`) to epoch seconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class Label:
    scenario: str
    kind: str
    variant: str
    detector: str
    ori: str | None
    start: float
    end: float
    also_expected: tuple[str, ...] = ()
    related_ori: str | None = None

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> Label:
        return cls(
            scenario=row["scenario"],
            kind=row["kind"],
            variant=row.get("variant") or "default",
            detector=row["detector"],
            ori=row.get("ori"),
            start=epoch(row["start"]),
            end=epoch(row["end"]),
            also_expected=tuple(row.get("also_expected") or ()),
            related_ori=row.get("related_ori"),
        )


@dataclass(frozen=True)
class AlertRow:
    detector: str
    ori: str | None
    start: float
    end: float

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> AlertRow:
        return cls(row["detector"], row.get("ori"), epoch(row["window_start"]), epoch(row["window_end"]))


def overlaps(alert: AlertRow, label: Label, slack_s: float) -> bool:
    return alert.start <= label.end + slack_s and alert.end >= label.start - slack_s


def matches(alert: AlertRow, label: Label, slack_s: float, primary_only: bool = False) -> bool:
    if alert.detector == label.detector:
        oris: tuple[str | None, ...] = (label.ori,)
    elif not primary_only and alert.detector in label.also_expected:
        # the blocked ICE-ERO queries behind a substitution are violations of the related ORI
        oris = (label.ori, label.related_ori)
    else:
        return False
    if label.ori is not None and alert.ori not in oris:
        return False
    return overlaps(alert, label, slack_s)


@dataclass
class DetectorScore:
    alerts: int = 0
    hits: int = 0  # alerts matching a label (primary or also_expected)
    false_collateral: int = 0  # false alerts on an ORI that runs a scenario
    false_background: int = 0  # false alerts on pure background
    labels: int = 0
    found: int = 0

    @property
    def false(self) -> int:
        return self.false_collateral + self.false_background

    def add(self, other: DetectorScore) -> None:
        for name in ("alerts", "hits", "false_collateral", "false_background", "labels", "found"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Score:
    """Counts of one or more runs; `add` sums runs (seeds)."""

    detectors: dict[str, DetectorScore] = field(default_factory=dict)
    # (detector, kind, variant) -> [labels, found]
    variants: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    missed: list[Label] = field(default_factory=list)
    false_alerts: list[AlertRow] = field(default_factory=list)

    def det(self, name: str) -> DetectorScore:
        return self.detectors.setdefault(name, DetectorScore())

    def add(self, other: Score) -> None:
        for name, d in other.detectors.items():
            self.det(name).add(d)
        for key, (n, f) in other.variants.items():
            cell = self.variants.setdefault(key, [0, 0])
            cell[0] += n
            cell[1] += f
        self.missed.extend(other.missed)
        self.false_alerts.extend(other.false_alerts)


def score(alerts: Iterable[AlertRow], labels: Iterable[Label], slack_s: float) -> Score:
    alerts, labels = list(alerts), list(labels)
    out = Score()
    scenario_oris = {o for lb in labels for o in (lb.ori, lb.related_ori) if o}
    for lb in labels:
        found = any(matches(a, lb, slack_s, primary_only=True) for a in alerts)
        d = out.det(lb.detector)
        d.labels += 1
        d.found += found
        cell = out.variants.setdefault((lb.detector, lb.kind, lb.variant), [0, 0])
        cell[0] += 1
        cell[1] += found
        if not found:
            out.missed.append(lb)
    for a in alerts:
        d = out.det(a.detector)
        d.alerts += 1
        if any(matches(a, lb, slack_s) for lb in labels):
            d.hits += 1
        else:
            out.false_alerts.append(a)
            if a.ori in scenario_oris:
                d.false_collateral += 1
            else:
                d.false_background += 1
    return out


def ratio(num: int, den: int) -> float | None:
    """None when there is nothing to measure (no labels, no alerts)."""
    return num / den if den else None
