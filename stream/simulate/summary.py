"""Final summary of a simulation run: event counts, scenarios injected, measured vs configured shares.

Configured shares are the brief 7.4 targets (weekday shares, see traffic.py); a measured share passes
when it is within 10% (relative) of its target. Counts are Poisson, so small shares are noisy: ICE
(0.10%) is ~400 queries in a half-scale day, +-5% at one standard deviation; the table shows that noise.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from stream.simulate.agencies import FEDERAL_COMPONENTS, LOCAL_CATEGORIES, SimAgency
from stream.simulate.calibration import MIX, MIX_LABELS, MSQ_SHARE, SIDE
from stream.simulate.events import Stats

TOLERANCE = 0.10


def configured_shares(registry: list[SimAgency]) -> dict[str, float]:
    """Target shares of logical DMV queries (brief 7.4), with the photo share implied by the registry."""
    total_mix = sum(m[1] for m in MIX)
    out = {f"key {label}": share / total_mix for label, share, _, _ in MIX}
    cats: dict[str, float] = {}
    for cat, (_, vol, _) in LOCAL_CATEGORIES.items():
        group = "J*" if cat.startswith("J") else cat
        cats[group] = cats.get(group, 0.0) + vol
    cats["FE"] = sum(v[1] for v in FEDERAL_COMPONENTS.values())
    out.update({f"category {k}": v for k, v in cats.items()})
    out["component ICE-ERO"] = FEDERAL_COMPONENTS["ICE-ERO"][1]
    out["component HSI"] = FEDERAL_COMPONENTS["HSI"][1]
    weight = sum(a.weight for a in registry)
    out["photo (of DQ)"] = sum(a.weight * a.photo_share for a in registry) / weight if weight else 0.0
    out["MSQ (of DQ+RQ)"] = MSQ_SHARE
    out["IAQ (of DMV)"] = SIDE["IAQ"]
    return out


def measured_shares(
    logical: dict[str, int], category: dict[str, int], component: dict[str, int], dq_photo: int, msq: int
) -> dict[str, float]:
    """The same shares measured from counts (used by the summary and by the tests on parsed output)."""
    dmv = sum(v for k, v in logical.items() if k in MIX_LABELS) or 1
    out = {f"key {label}": logical.get(label, 0) / dmv for label, _, _, _ in MIX}
    for group in ("PD", "SO", "SA", "FE", "J*", "NJ"):
        n = sum(v for k, v in category.items() if (k.startswith("J") if group == "J*" else k == group))
        out[f"category {group}"] = n / dmv
    out["component ICE-ERO"] = component.get("ICE-ERO", 0) / dmv
    out["component HSI"] = component.get("HSI", 0) / dmv
    dq = logical.get("DQ OLN", 0) + logical.get("DQ NAM/DOB", 0)
    dq_rq = dq + logical.get("RQ plate", 0) + logical.get("RQ VIN", 0)
    out["photo (of DQ)"] = dq_photo / (dq or 1)
    out["MSQ (of DQ+RQ)"] = msq / (dq_rq or 1)
    out["IAQ (of DMV)"] = logical.get("IAQ", 0) / dmv
    return out


def share_check(stats: Stats, registry: list[SimAgency]) -> list[tuple[str, float, float, bool]]:
    conf = configured_shares(registry)
    meas = measured_shares(stats.logical, stats.category, stats.component, stats.dq_photo, stats.msq)
    return [(k, conf[k], meas[k], abs(meas[k] - conf[k]) <= TOLERANCE * conf[k]) for k in conf]


def render(
    stats: Stats,
    registry: list[SimAgency],
    labels: list[dict[str, Any]],
    seconds: float,
    console: Console | None = None,
) -> None:
    console = console or Console(stderr=True)
    events = stats.queries + stats.responses
    t = Table(title="Events", show_header=True)
    t.add_column("kind")
    t.add_column("count", justify="right")
    rows = [
        ("queries (incl. MSQ children)", stats.queries),
        ("  of which MSQ children", stats.children),
        ("responses", stats.responses),
        ("redeliveries (duplicates)", stats.events["duplicate"]),
        ("malformed lines", stats.events["malformed"]),
        ("dropped by feed silence", stats.events["silenced"]),
    ]
    rows += [(f"logical {k}", v) for k, v in sorted(stats.logical.items(), key=lambda kv: -kv[1])]
    for name, value in rows:
        t.add_row(name, f"{value:,}")
    t.add_row("events/s (wall)", f"{events / seconds:,.0f}" if seconds > 0 else "-")
    console.print(t)
    if labels:
        s = Table(title="Scenarios injected")
        for col in ("scenario", "kind", "variant", "detector", "ori", "dest", "start", "queries"):
            s.add_column(col)
        for lab in labels:
            s.add_row(
                lab["scenario"],
                lab["kind"],
                lab["variant"],
                lab["detector"],
                str(lab["ori"]),
                str(lab["destination_state"]),
                lab["start"],
                str(lab["queries"]),
            )
        console.print(s)
    c = Table(title="National shares (weekday targets, tolerance 10%)")
    for col in ("share", "configured", "measured", "within 10%", "noise (1 sd)"):
        c.add_column(col)
    for name, conf, meas, ok in share_check(stats, registry):
        # counts are random: with n expected events the relative noise alone is about 1/sqrt(n)
        n = conf * _denominator(stats, name)
        noise = f"{1 / n**0.5:.1%}" if n > 0 else "-"
        c.add_row(name, f"{conf:.4%}", f"{meas:.4%}", "[green]yes[/]" if ok else "[red]no[/]", noise)
    console.print(c)


def _denominator(stats: Stats, name: str) -> int:
    lg = stats.logical
    if name.startswith("photo"):
        return lg["DQ OLN"] + lg["DQ NAM/DOB"]
    if name.startswith("MSQ"):
        return lg["DQ OLN"] + lg["DQ NAM/DOB"] + lg["RQ plate"] + lg["RQ VIN"]
    return sum(v for k, v in lg.items() if k in MIX_LABELS)
