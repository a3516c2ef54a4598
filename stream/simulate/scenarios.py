"""Scenario injection: YAML specs -> scheduled misuse events with ground-truth labels.

A scenario file (`deploy/scenarios/*.yaml`) holds `scenarios: [ {name, kind, variant, start, duration,
intensity, ...}, ... ]`. Each scenario gets its own random stream (seeded by the run seed and its name) and
its own accountable ORI, chosen deterministically from `component` / `category` unless `ori` is given, and
never shared with another scenario, so one scenario's ORI carries no other scenario's signal. The events
are generated up front as timed actions and run as the simulated clock passes them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stream.errors import ConfigError
from stream.simulate.agencies import SimAgency
from stream.simulate.spec import DEFAULT_SELECTOR, DETECTOR, DMV_RUN, ScenarioSpec, parse_duration

if TYPE_CHECKING:
    from stream.simulate.engine import Simulation


@dataclass
class Ctx:
    """What a scenario generator needs: its spec, random stream, agency, window and the action list."""

    spec: ScenarioSpec
    sim: Simulation
    rnd: random.Random
    agency: SimAgency | None
    t0: int
    t1: int
    actions: list[tuple[int, Callable[[], object]]] = field(default_factory=list)
    dest: str | None = None
    label_extra: dict[str, Any] = field(default_factory=dict)
    picker: Callable[..., SimAgency] | None = None

    def at(self, ms: int, fn: Callable[[], object]) -> None:
        self.actions.append((ms, fn))

    def intensity(self, default: float) -> float:
        """The spec's intensity when the file sets it, else the kind's own default."""
        return self.spec.intensity if "intensity" in self.spec.model_fields_set else default

    def pick(self, **selector: Any) -> SimAgency:
        assert self.picker is not None
        return self.picker(self.spec, self.rnd, **selector)

    def times(self, n: int, t0: int | None = None, t1: int | None = None) -> list[int]:
        lo, hi = self.t0 if t0 is None else t0, self.t1 if t1 is None else t1
        return sorted(lo + int(self.rnd.random() * max(1, hi - lo)) for _ in range(n))


class Scenarios:
    def __init__(self, specs: list[ScenarioSpec], sim: Simulation, seed: int) -> None:
        from stream.simulate import kinds, kinds_policy

        generators = {**kinds.GENERATORS, **kinds_policy.GENERATORS}

        self.sim, self.seed = sim, seed
        self._used: set[str] = set()
        self._ctxs: list[Ctx] = []
        actions: list[tuple[int, int, Callable[[], object]]] = []
        # the tap sees nothing during an outage, scenario events included: they are neither sent nor labelled
        quiet = [self._context(s) for s in specs if s.kind == "feed_silence"]
        self._used.clear()
        for spec in specs:
            ctx = self._context(spec)
            generators[spec.kind](ctx)
            # what falls outside the simulated span never happens, so it is not labelled either
            ctx.actions = sorted(
                (
                    a
                    for a in ctx.actions
                    if sim.start_ms <= a[0] < sim.end_ms and not any(q.t0 <= a[0] < q.t1 for q in quiet)
                ),
                key=lambda a: a[0],
            )
            self._ctxs.append(ctx)
            actions.extend((ms, len(actions) + i, fn) for i, (ms, fn) in enumerate(ctx.actions))
        actions.sort(key=lambda a: (a[0], a[1]))
        self._actions = actions
        self._next = 0

    def _context(self, spec: ScenarioSpec) -> Ctx:
        rnd = random.Random(f"scenario:{self.seed}:{spec.name}")
        t0 = self.sim.start_ms + int(parse_duration(spec.start) * 1000)
        t1 = t0 + int(parse_duration(spec.duration) * 1000)
        if spec.kind in ("feed_silence", "new_requester"):
            agency = None
        elif (spec.kind, None) in DMV_RUN or (spec.kind, spec.variant) in DMV_RUN:
            agency = self.pick(spec, rnd, dmv=True)
        elif spec.ori or spec.component or spec.category:
            agency = self.pick(spec, rnd)
        else:
            sel = dict(DEFAULT_SELECTOR[spec.kind])
            if spec.kind == "photo_harvest" and spec.variant == "face_ban":
                sel = {"component": "ICE-ERO"}
            elif spec.kind == "photo_harvest" and spec.variant in ("cpq_volume", "face_burst"):
                sel = {"category": "SA"}
            agency = self.pick(spec, rnd, **sel)
        return Ctx(spec, self.sim, rnd, agency, t0, t1, picker=self.pick)

    def pick(self, spec: ScenarioSpec, rnd: random.Random, **override: Any) -> SimAgency:
        """Deterministic choice of an unused agency matching the spec's selector (or its fixed ORI)."""
        ori = override.get("ori", spec.ori)
        if ori:
            found = [a for a in self.sim.registry if a.ori == ori]
            if not found:
                raise ConfigError(spec.name, "ori", f"{ori} is not in the simulated registry")
            self._used.add(ori)
            return found[0]
        comp = override.get("component", spec.component)
        cat = override.get("category", spec.category)
        home = override.get("home_state", spec.home_state)
        pool = [
            a
            for a in self.sim.registry
            if a.ori not in self._used
            and a.profile != "dmv"
            and (comp is None or a.component == comp)
            and (cat is None or a.category == cat)
            and (home is None or a.state == home)
        ]
        if override.get("dmv"):
            pool = [
                a
                for a in self.sim.registry
                if a.profile == "dmv" and a.ori not in self._used and (home is None or a.state == home)
            ]
        if not pool:
            raise ConfigError(spec.name, "component/category", "no unused agency matches")
        pool.sort(key=lambda a: (-a.weight, a.ori))
        if override.get("dmv"):
            pass  # DMV ORIs all carry S2S volume
        elif spec.small_agency:
            pool = pool[len(pool) * 3 // 4 :] or pool
        elif len(pool) > 4:
            pool = pool[: max(4, len(pool) // 4)]  # an agency with a real baseline
        chosen = pool[int(rnd.random() * len(pool))]
        self._used.add(chosen.ori)
        return chosen

    def minute(self, t0: int, t1: int) -> None:
        acts = self._actions
        while self._next < len(acts) and acts[self._next][0] < t1:
            acts[self._next][2]()
            self._next += 1

    def silences(self) -> list[tuple[int, int]]:
        return [(c.t0, c.t1) for c in self._ctxs if c.spec.kind == "feed_silence"]

    def labels(self) -> list[dict[str, Any]]:
        """One row per scenario that actually happened inside the simulated span (start/end: its events)."""
        out = []
        for c in self._ctxs:
            if c.spec.kind == "feed_silence":
                if c.t0 >= self.sim.end_ms:
                    continue
                start, end = c.t0, min(c.t1, self.sim.end_ms)
            elif not c.actions:
                continue  # outside the run, or too small a scale for even one event
            else:
                start, end = c.actions[0][0], c.actions[-1][0]
            extra = {k: v for k, v in c.label_extra.items() if k != "ori"}
            ori = c.label_extra.get("ori") or (c.agency.ori if c.agency else None)
            out.append(
                {
                    "scenario": c.spec.name,
                    "kind": c.spec.kind,
                    "variant": c.spec.variant,
                    "detector": DETECTOR[c.spec.kind],
                    "ori": ori,
                    "destination_state": c.dest,
                    "start": _rfc3339(start),
                    "end": _rfc3339(end),
                    "queries": len(c.actions),
                    **extra,
                }
            )
        return out


def _rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
