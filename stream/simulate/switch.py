"""The simulated state switch: which destination states block which requesters.

This is the simulator's OWN model of the switches (brief 4.3), not the monitor's policy pack: the monitor
must infer violations independently. Two kinds of row:

- `ori_block`: the state blocks the listed components at the switch, whatever predicate the query
  carries (case-by-case sharing on a court order happens outside Nlets).
- `statute`: the state's law forbids disclosure for immigration enforcement unless a judicial predicate
  is given; the simulated switch enforces it on the predicate field.

A restricted requester is an agency with `immigration_enforcement` true whose component a row lists.
"""

from __future__ import annotations

from dataclasses import dataclass

JUDICIAL: frozenset[str] = frozenset({"judicial_warrant", "court_order"})
COURT_PROCESS: frozenset[str] = frozenset({"judicial_warrant", "court_order", "subpoena"})


@dataclass(frozen=True, slots=True)
class SwitchRule:
    state: str
    kind: str  # "ori_block" | "statute"
    components: frozenset[str]
    accepted: frozenset[str]  # predicates that let a statute-state query through
    rule_id: str


_IMM = frozenset({"ICE-ERO", "CBP", "USBP"})
_ICE = frozenset({"ICE-ERO"})

SWITCH_RULES: dict[str, SwitchRule] = {
    # NY VTL 201(12) Green Light law: no access for agencies primarily enforcing immigration law
    # (ICE, CBP); DMV cut ICE and CBP off (brief 4.3, nysenate.gov A2325).
    "NY": SwitchRule("NY", "ori_block", _IMM, frozenset(), "NY-VTL201-IMMIGRATION-ORI-BLOCK"),
    # Illinois blocked ICE on Nlets by 2025 (Wyden letter, brief 4.2/4.3).
    "IL": SwitchRule("IL", "ori_block", _ICE, frozenset(), "IL-IMMIGRATION-ORI-BLOCK"),
    # Massachusetts blocked ICE on Nlets by 2025; AG regulations (brief 4.3, Boston Globe 2023-06-30).
    "MA": SwitchRule("MA", "ori_block", _ICE, frozenset(), "MA-IMMIGRATION-ORI-BLOCK"),
    # Minnesota blocked ICE on Nlets by 2025 (brief 4.3, Wyden letter).
    "MN": SwitchRule("MN", "ori_block", _ICE, frozenset(), "MN-IMMIGRATION-ORI-BLOCK"),
    # Washington: ICE blocked via Nlets/ACCESS from 2025-11-19; CBP kept access (brief 4.3, seattlephi).
    "WA": SwitchRule("WA", "ori_block", _ICE, frozenset(), "WA-IMMIGRATION-ORI-BLOCK"),
    # Colorado SB21-131: no PII for immigration enforcement without a court-issued subpoena, warrant or order.
    "CO": SwitchRule("CO", "statute", _IMM, COURT_PROCESS, "CO-SB21-131-IMMIGRATION"),
    # New Jersey 2019 licence law: no MVC data (incl. photo) without a court subpoena, warrant or order.
    "NJ": SwitchRule("NJ", "statute", _IMM, COURT_PROCESS, "NJ-MVC-IMMIGRATION"),
    # California AB 1747 (2019): CLETS not for immigration enforcement; [A] judicial order accepted.
    "CA": SwitchRule("CA", "statute", _IMM, JUDICIAL, "CA-AB1747-IMMIGRATION"),
}

# Every state whose law restricts immigration-enforcement access, including Oregon (block in progress,
# brief 4.3): background traffic of restricted requesters stays away from these without a predicate.
RESTRICTED_STATES: frozenset[str] = frozenset({*SWITCH_RULES, "OR"})

# [A] States where face searches of DMV photos for immigration enforcement are banned (NY photo-system
# agreement, NJ "including the photograph", IL 2025 bills, WA RCW 43.17.425, CA AB 1747, MA, MN, CO).
FACE_BAN_STATES: frozenset[str] = frozenset({"NY", "NJ", "IL", "WA", "CA", "MA", "MN", "CO"})


def restricted_component(component: str | None, immigration_enforcement: bool) -> bool:
    return immigration_enforcement and component in _IMM


def decide(state: str, component: str | None, immigration_enforcement: bool, predicate: str) -> str | None:
    """The rule id that blocks this query at `state`'s switch, or None when it passes."""
    rule = SWITCH_RULES.get(state)
    if rule is None or not immigration_enforcement or component not in rule.components:
        return None
    if rule.kind == "statute" and predicate in rule.accepted:
        return None
    return rule.rule_id


def face_rule(state: str) -> str:
    return f"{state}-FACE-IMMIGRATION-BAN"


def would_violate(state: str, component: str | None, immigration_enforcement: bool, predicate: str) -> bool:
    """True when the query breaks the state's restriction (what policy_violation should see)."""
    if not restricted_component(component, immigration_enforcement) or state not in RESTRICTED_STATES:
        return False
    rule = SWITCH_RULES.get(state)
    accepted = rule.accepted if rule is not None and rule.kind == "statute" else JUDICIAL
    return predicate not in accepted
