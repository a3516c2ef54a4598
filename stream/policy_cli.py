"""`dmvwatch check-policy [PATH]`: validate the compliance policy pack and print what it says.

Runs exactly the validation the monitor runs at start-up (`stream.policy.load_policy`), so a pack that
passes here loads in production. Exit 1 with the file and field on the first error.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from stream.errors import ConfigError
from stream.policy import Policy, load_policy
from stream.policy_rules import Rule, StateRules

DEFAULT_PATH = Path("deploy/policies/policy.yaml")


def _checks(rule: Rule) -> str:
    """A short description of what a rule checks (one line per check)."""
    out: list[str] = []
    if rule.allowed_predicates is not None:
        out.append("blocked" if not rule.allowed_predicates else "needs " + "/".join(rule.allowed_predicates))
    if rule.case_number_required:
        out.append("case number")
    if rule.forbidden_message_keys:
        out.append("no " + ",".join(rule.forbidden_message_keys))
    if rule.forbidden_search_modes:
        out.append("no " + ",".join(rule.forbidden_search_modes))
    for flag, label in ((rule.face_recognition_ban, "no face"), (rule.photo_ban, "no photo")):
        if flag:
            out.append(label)
    if rule.bulk_ban:
        out.append("no bulk")
    if rule.allowed_purpose_codes is not None:
        out.append("purpose " + ",".join(rule.allowed_purpose_codes))
    if rule.carve_outs:
        out.append("carve-outs: " + ",".join(c.name for c in rule.carve_outs))
    return "; ".join(out)


def _who(state: StateRules, rule: Rule) -> str:
    req = rule.applies_to or state.restricted_requesters
    parts = (["immigration"] if req.immigration_enforcement else []) + list(req.components)
    return ", ".join(parts)


def _table(policy: Policy) -> Table:
    table = Table(title=f"Policy pack {policy.version}: {len(policy.states)} states")
    for col in ("state", "rule_id", "from", "switch", "applies to", "checks", "severity"):
        table.add_column(col, overflow="fold", no_wrap=col in ("rule_id", "from"))
    for code in sorted(policy.states):
        state = policy.states[code]
        for rule in state.rules:
            switch = "blocks" if state.enforced(rule) else "-"
            table.add_row(
                code, rule.rule_id, rule.effective_from.isoformat(), switch, _who(state, rule),
                _checks(rule), rule.severity,
            )  # fmt: skip
    return table


def check_policy(
    path: Path = typer.Argument(DEFAULT_PATH, help="The top-level policy.yaml of the pack."),
) -> None:
    """Validate the policy pack (state rules and detector thresholds) and print a summary."""
    console = Console()
    try:
        policy = load_policy(path)
    except ConfigError as exc:
        Console(stderr=True).print(f"[red]invalid policy[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    console.print(_table(policy))
    kinds = ", ".join(sorted(policy.detectors)) or "none (all defaults)"
    console.print(f"detector thresholds: {kinds}")
    console.print(f"registry: {policy.registry_path or 'none'}")


def register(app: typer.Typer) -> None:
    app.command("check-policy")(check_policy)
