"""Scenario generators, part 2: restricted-state access, switch failures, subject focus, S2S misuse.

Where a scenario necessarily carries a second signal (a blocked ICE query IS also a restricted-use
violation), the label lists it under `also_expected`, so an evaluation can tell a correct extra alert
from a false positive.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from stream.simulate import switch
from stream.simulate.kinds import ask, dest_for, ops
from stream.simulate.scenarios import Ctx

_ORI_BLOCK = sorted(s for s, r in switch.SWITCH_RULES.items() if r.kind == "ori_block")
_HOUR = 3_600_000


def restricted_use(ctx: Ctx) -> None:
    """Immigration-enforcement look-ups into a restricted state without a judicial predicate."""
    a, v, rnd = ctx.agency, ctx.spec.variant, ctx.rnd
    assert a is not None
    if v == "administrative_warrant":
        ctx.dest, predicate = dest_for(ctx, a, rnd.choice(["CO", "NJ", "CA"])), "administrative_warrant"
    elif v == "unblocked_state":  # Oregon: restricted by law, no switch block yet, so it is answered
        ctx.dest, predicate = dest_for(ctx, a, "OR"), "none"
    else:
        ctx.dest, predicate = dest_for(ctx, a, rnd.choice(_ORI_BLOCK)), "none"
    op = ops(ctx)[0]
    for ms in ctx.times(max(1, round(ctx.intensity(3)))):
        ask(ctx, ms, "RQ", "plate", ctx.dest, rnd.getrandbits(40), operator=op, predicate=predicate)


def policy_leak(ctx: Ctx) -> None:
    """The switch fails open: a query its rule should block is answered with a HIT."""
    a, rnd = ctx.agency, ctx.rnd
    assert a is not None
    ctx.dest = dest_for(ctx, a, "WA")
    ctx.label_extra["also_expected"] = ["policy_violation"]
    for ms in ctx.times(max(1, round(ctx.intensity(2)))):
        ask(
            ctx,
            ms,
            "DQ",
            "name_dob_sex",
            ctx.dest,
            rnd.getrandbits(40),
            operator=ops(ctx)[0],
            predicate="none",
            force="HIT",
        )


def blocked_retry(ctx: Ctx) -> None:
    """The same few subjects re-queried again and again after BLOCKED_BY_POLICY answers."""
    a, rnd = ctx.agency, ctx.rnd
    assert a is not None
    ctx.dest = dest_for(ctx, a, rnd.choice(_ORI_BLOCK))
    ctx.label_extra["also_expected"] = ["policy_violation"]
    subjects = [rnd.getrandbits(40) for _ in range(ctx.spec.subjects)]
    operators = ops(ctx)
    for i, ms in enumerate(ctx.times(max(len(subjects), round(ctx.intensity(30))))):
        key, mode = ("RQ", "plate") if i % 3 else ("DQ", "name_dob_sex")
        ask(ctx, ms, key, mode, ctx.dest, subjects[i % len(subjects)], operator=operators[i % len(operators)])


def agency_substitution(ctx: Ctx) -> None:
    """ICE-ERO is blocked on some subjects; within days CBP (or a local PD) asks about the same people."""
    sub, rnd = ctx.agency, ctx.rnd
    assert sub is not None
    ice = ctx.pick(component="ICE-ERO", category=None, home_state=None, ori=None)
    ctx.dest = dest_for(ctx, ice, "WA")
    ctx.label_extra.update(related_ori=ice.ori, also_expected=["policy_violation"])
    subjects = [rnd.getrandbits(40) for _ in range(ctx.spec.subjects)]
    split = ctx.t0 + (ctx.t1 - ctx.t0) // 4
    for sid, ms in zip(subjects, ctx.times(len(subjects), ctx.t0, split), strict=True):
        ask(ctx, ms, "RQ", "plate", ctx.dest, sid, agency=ice, operator=ice.operators[0], predicate="none")
    local = sub.category != "FE"
    for sid, ms in zip(subjects, ctx.times(len(subjects), split + _HOUR, ctx.t1), strict=True):
        ask(
            ctx,
            ms,
            "RQ",
            "plate",
            ctx.dest,
            sid,
            operator=ops(ctx)[0],
            source="state_switch" if local and sub.state == ctx.dest else "nlets",
        )


def partner_leakage(ctx: Ctx) -> None:
    """A permitted partner (HSI) looks people up; days later ICE-ERO queries the same people."""
    hsi, rnd = ctx.agency, ctx.rnd
    assert hsi is not None
    ice = ctx.pick(component="ICE-ERO", category=None, home_state=None, ori=None)
    ctx.dest = dest_for(ctx, hsi, "WA")
    ctx.label_extra["related_ori"] = ice.ori
    later = (
        dest_for(ctx, ice, "ID") if not ctx.spec.destination_states[1:] else ctx.spec.destination_states[1]
    )
    subjects = [rnd.getrandbits(40) for _ in range(ctx.spec.subjects)]
    split = ctx.t0 + (ctx.t1 - ctx.t0) // 3
    for sid, ms in zip(subjects, ctx.times(len(subjects), ctx.t0, split), strict=True):
        ask(ctx, ms, "DQ", "name_dob_sex", ctx.dest, sid, operator=ops(ctx)[0])
    for sid, ms in zip(subjects, ctx.times(len(subjects), split + _HOUR, ctx.t1), strict=True):
        ask(ctx, ms, "RQ", "plate", later, sid, agency=ice, operator=ice.operators[0])


def pre_action_burst(ctx: Ctx) -> None:
    """>=5 look-ups on one person by immigration enforcement within 72 h, then silence (plate first)."""
    a, rnd = ctx.agency, ctx.rnd
    assert a is not None
    ctx.dest = dest_for(ctx, a, "TX")
    sid, operators = rnd.getrandbits(40), ops(ctx)
    for i, ms in enumerate(ctx.times(max(1, round(ctx.intensity(6))))):
        key, mode = [("RQ", "plate"), ("DQ", "name_dob_sex"), ("KQ", "oln")][min(i, 2) if i < 3 else i % 3]
        ask(ctx, ms, key, mode, ctx.dest, sid, operator=operators[i % len(operators)])


def sensitive_targeting(ctx: Ctx) -> None:
    """Selecting on 99999 in S2S, or answers concentrated on no-SSN / undocumented-eligible records."""
    a, rnd = ctx.agency, ctx.rnd
    assert a is not None
    share = float(ctx.spec.params.get("share", 0.7))
    n = max(1, round(ctx.intensity(40) * (ctx.t1 - ctx.t0) / _HOUR))
    if ctx.spec.variant == "s2s_99999":
        bg = ctx.sim.background
        for ms in ctx.times(n):
            ssn5 = "99999" if rnd.random() < share else f"{rnd.randrange(100_000):05d}"
            ctx.at(ms, partial(bg.s2s, ms, a, rnd, ssn5=ssn5))
        return
    ctx.dest = dest_for(ctx, a, "NV")
    flagged = ["no_ssn", "undocumented_eligible_license"]
    for ms in ctx.times(n):
        hit = rnd.random() < share
        ask(
            ctx,
            ms,
            "DQ",
            "name_dob_sex",
            ctx.dest,
            rnd.getrandbits(40),
            operator=ops(ctx)[0],
            force="HIT" if hit else None,
            flags=flagged if hit else None,
        )


def s2s_misuse(ctx: Ctx) -> None:
    """S2S look-ups with no in-person application, or at a machine-regular batch cadence."""
    a, rnd, bg = ctx.agency, ctx.rnd, ctx.sim.background
    assert a is not None
    ctx.dest = ctx.spec.destination_states[0] if ctx.spec.destination_states else None
    if ctx.spec.variant == "batch_cadence":
        step = int(float(ctx.spec.params.get("interval_s", 4)) * 1000)
        times = list(range(ctx.t0, ctx.t1, step))[: max(1, round(ctx.intensity(300)))]
        app = True
    else:
        times, app = ctx.times(max(1, round(ctx.intensity(20) * (ctx.t1 - ctx.t0) / _HOUR))), False
    for ms in times:
        ctx.at(ms, partial(bg.s2s, ms, a, rnd, app=app, dest=ctx.dest))


def feed_silence(ctx: Ctx) -> None:
    """The tap goes quiet: the engine drops every event emitted inside the window."""


GENERATORS: dict[str, Callable[[Ctx], None]] = {
    "restricted_use": restricted_use,
    "policy_leak": policy_leak,
    "blocked_retry": blocked_retry,
    "agency_substitution": agency_substitution,
    "partner_leakage": partner_leakage,
    "pre_action_burst": pre_action_burst,
    "sensitive_targeting": sensitive_targeting,
    "s2s_misuse": s2s_misuse,
    "feed_silence": feed_silence,
}
