"""Scenario generators, part 1: volume and pattern misuse (brief 7.5), and the shared query helper.

Each generator plans timed actions on its `Ctx`; the events they emit use the same factory, responder and
field conventions as background traffic, so only the pattern gives them away. Policy-related kinds live
in `kinds_policy.py`. Default intensities (used when the YAML leaves `intensity` out) are per kind.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from stream.simulate import geo, switch
from stream.simulate.agencies import SimAgency, new_federal_agency
from stream.simulate.calibration import poisson
from stream.simulate.scenarios import Ctx

_LABEL = {
    ("RQ", "plate"): "RQ plate",
    ("RQ", "vin"): "RQ VIN",
    ("DQ", "oln"): "DQ OLN",
    ("DQ", "name_dob_sex"): "DQ NAM/DOB",
}
_WALK = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def ask(
    ctx: Ctx,
    ms: int,
    key: str,
    mode: str,
    dest: str,
    sid: int | None,
    *,
    agency: SimAgency | None = None,
    operator: str | None = None,
    image: bool = False,
    predicate: str | None = None,
    force: str | None = None,
    pattern: str | None = None,
    source: str = "nlets",
    flags: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Schedule one query (and its response) shaped like background traffic."""
    who = agency or ctx.agency
    assert who is not None
    sim, rnd = ctx.sim, ctx.rnd

    def run() -> None:
        ex = sim.background.context(who, rnd)
        if predicate not in (None, "none"):  # "none" stays as background writes it (field often absent)
            ex["legal_predicate"] = {
                "type": predicate,
                "reference": f"SYN-{rnd.getrandbits(24):06x}",
            }
        ex.update(extra or {})
        qid = sim.factory.query(
            ms,
            who,
            key,
            source,
            mode,
            [dest],
            sid,
            _LABEL.get((key, mode), key),
            operator=operator,
            pattern=pattern,
            image=image,
            extra=ex,
        )
        sim.responder.respond(
            qid,
            ms,
            who,
            key,
            dest,
            image=image,
            predicate=predicate or "none",
            source=source,
            force=force,
            flags=flags,
        )

    ctx.at(ms, run)


def ops(ctx: Ctx, agency: SimAgency | None = None) -> list[str]:
    a = agency or ctx.agency
    assert a is not None
    return list(a.operators[: ctx.spec.operators]) or [a.operators[0]]


def dest_for(ctx: Ctx, agency: SimAgency, default: str | None = None) -> str:
    """The scenario's destination: from the spec, else a state the agency's background traffic uses."""
    if ctx.spec.destination_states:
        return ctx.spec.destination_states[0]
    if default:
        return default
    codes, _ = ctx.sim.background.destinations(
        "", switch.restricted_component(agency.component, agency.immigration_enforcement)
    )
    return codes[int(ctx.rnd.random() * len(codes))]


def _count(ctx: Ctx, per_hour: float) -> int:
    return max(1, round(ctx.intensity(per_hour) * (ctx.t1 - ctx.t0) / 3_600_000))


def bulk_sweep(ctx: Ctx) -> None:
    """Distinct subjects, wildcard walks (RPQ/RNQ) or name-only alphabet walks from one ORI."""
    a, v, rnd = ctx.agency, ctx.spec.variant, ctx.rnd
    assert a is not None
    ctx.dest = dest_for(ctx, a)
    operators = ops(ctx)
    walk_prefix = rnd.choice(_WALK[:23]) + rnd.choice(_WALK[:23])
    for i, ms in enumerate(ctx.times(_count(ctx, 25 if v == "low_and_slow" else 150))):
        op = operators[i % len(operators)]
        if v in ("rpq_walk", "wildcard"):
            ask(
                ctx,
                ms,
                "RPQ",
                "partial_plate",
                ctx.dest,
                None,
                operator=op,
                pattern=f"{walk_prefix}{_WALK[i // len(_WALK) % len(_WALK)]}{_WALK[i % len(_WALK)]}*",
            )
        elif v == "dnq_alphabet":
            pat = f"{_WALK[i // 23 % 23]}{_WALK[i % 23]}*"
            ask(ctx, ms, "DNQ", "name_only", ctx.dest, rnd.getrandbits(40), operator=op, pattern=pat)
        elif v == "rnq_walk":
            ask(
                ctx,
                ms,
                "RNQ",
                "owner_name",
                ctx.dest,
                rnd.getrandbits(40),
                operator=op,
                pattern=f"{walk_prefix[0]}{_WALK[i % 23]}*",
            )
        else:
            key, mode = ("RQ", "plate") if rnd.random() < 0.6 else ("DQ", "name_dob_sex")
            ask(ctx, ms, key, mode, ctx.dest, rnd.getrandbits(40), operator=op)


def noncj_bulk(ctx: Ctx) -> None:
    """SAVE-style citizenship checks: batches of name+DOB look-ups from a non-CJ ORI, no purpose code."""
    a, rnd = ctx.agency, ctx.rnd
    assert a is not None
    states = ctx.spec.destination_states or ["FL", "IN", "IA", "OH"]  # the four settlement states [S]
    ctx.dest = states[0] if len(states) == 1 else None
    n = _count(ctx, 300)
    batch = int(ctx.spec.params.get("batch", 50))
    batches = ctx.times(max(1, -(-n // batch)))
    op = ops(ctx)[0]
    for b, start in enumerate(batches):
        for j in range(min(batch, n - b * batch)):
            ask(
                ctx,
                start + j * 700,
                "DQ",
                "name_dob_sex",
                states[(b * batch + j) % len(states)],
                rnd.getrandbits(40),
                operator=op,
                extra={"purpose_code": None},
            )


def agency_spike(ctx: Ctx) -> None:
    """One ORI at ~intensity x its own baseline, sudden or ramping up over the window."""
    a, rnd = ctx.agency, ctx.rnd
    assert a is not None
    mult, bg = ctx.intensity(3.0), ctx.sim.background
    for t in range(ctx.t0, ctx.t1, 60_000):
        ramp = (t - ctx.t0) / max(1, ctx.t1 - ctx.t0) if ctx.spec.variant == "ramp" else 1.0
        for _ in range(poisson(rnd, (mult - 1.0) * ramp * bg.agency_rate(a, t))):
            ms = t + int(rnd.random() * 60_000)
            ctx.at(ms, partial(bg.one, ms, a, rnd))


def photo_harvest(ctx: Ctx) -> None:
    """Photo requests far above peers, CPQ volume, face-search bursts, or face searches into a ban state."""
    a, v, rnd = ctx.agency, ctx.spec.variant, ctx.rnd
    assert a is not None
    if v == "face_ban":
        ctx.dest = dest_for(ctx, a, "IL")
        # an immigration-enforcement face search into a face-ban state breaks that state's rules too
        ctx.label_extra["also_expected"] = ["policy_violation"]
        for ms in ctx.times(max(1, round(ctx.intensity(2)))):
            ask(ctx, ms, "FRS", "face_image", ctx.dest, rnd.getrandbits(40), image=True, source="face")
        return
    sharing = [
        s for s in geo.STATE_CODES if s not in geo.NO_PHOTO_STATES and s not in switch.RESTRICTED_STATES
    ]
    ctx.dest = ctx.spec.destination_states[0] if ctx.spec.destination_states else None
    operators = ops(ctx)
    for i, ms in enumerate(ctx.times(_count(ctx, 60))):
        dest = ctx.dest or sharing[int(rnd.random() * len(sharing))]
        if v == "cpq_volume":
            ask(
                ctx,
                ms,
                "CPQ",
                "name_dob_sex",
                dest,
                rnd.getrandbits(40),
                image=True,
                operator=operators[i % len(operators)],
            )
        elif v == "face_burst":
            ask(ctx, ms, "FRS", "face_image", dest, rnd.getrandbits(40), image=True, source="face")
        else:
            ask(
                ctx,
                ms,
                "DQ",
                "name_dob_sex",
                dest,
                rnd.getrandbits(40),
                image=rnd.random() < 0.95,
                operator=operators[i % len(operators)],
            )


def new_requester(ctx: Ctx) -> None:
    """A federal ORI the registry has never listed starts querying after warm-up."""
    comp = ctx.spec.component or "ICE-ERO"
    state = ctx.spec.home_state or "TX"
    a = new_federal_agency(ctx.sim.cfg.seed, comp, state, sum(map(ord, ctx.spec.name)))
    ctx.agency, bg, rnd = a, ctx.sim.background, ctx.rnd
    for ms in ctx.times(_count(ctx, 20)):
        ctx.at(ms, partial(bg.one, ms, a, rnd))


GENERATORS: dict[str, Callable[[Ctx], None]] = {
    "bulk_sweep": bulk_sweep,
    "noncj_bulk": noncj_bulk,
    "agency_spike": agency_spike,
    "photo_harvest": photo_harvest,
    "new_requester": new_requester,
}
