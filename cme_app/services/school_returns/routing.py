"""What the LA does with a deletion return: the routing table of statutory-returns.md §2 as
data. Each rule says which grounds it covers and when; the first rule that fits decides. To
change what happens to a ground, change a row here (tests/services/school_returns cover each)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Route(StrEnum):
    MATCH_ROLL = "match_roll"  # on roll at a named school: match the child to it, no episode
    EHE_LIST = "ehe_list"  # to the EHE team's list: not CME unless EHE is found unsuitable
    CME = "cme"  # a CME episode opens and a case appears in New referral
    RECORD = "record"  # recorded only


@dataclass(frozen=True)
class Rule:
    grounds: str  # reg 9(1) letters this rule covers
    route: Route
    # None: whatever the return says; True/False: only when it names (or not) a new school.
    names_school: bool | None = None
    dfe_reason: str = ""  # the CME episode's primary reason (Route.CME)
    abroad_reason: str = ""  # ... when the school says the family moved abroad
    # H and I need joint enquiries by school and LA: without the LA's confirmation that they
    # were exhausted, the deletion is flagged as possible off-rolling.
    joint_enquiries: bool = False


RULES: tuple[Rule, ...] = (
    Rule("ABCDEGHIJKLMNO", Route.MATCH_ROLL, names_school=True),
    Rule("F", Route.EHE_LIST),
    Rule("G", Route.CME, names_school=False,
         dfe_reason="Believed to have moved to another local authority",
         abroad_reason="Believed to have moved to another country"),
    Rule("H", Route.CME, dfe_reason="Believed to have moved to another country",
         joint_enquiries=True),
    Rule("I", Route.CME, dfe_reason="Unknown", joint_enquiries=True),
    Rule("ABCDEJKLMNO", Route.RECORD),
)


def rule_for(ground: str, *, names_school: bool) -> Rule:
    for rule in RULES:
        if ground in rule.grounds and rule.names_school in (None, names_school):
            return rule
    return Rule(ground, Route.RECORD)


def reason_for(rule: Rule, *, moved_abroad: bool) -> str:
    return (rule.abroad_reason if moved_abroad and rule.abroad_reason else rule.dfe_reason) \
        or "Unknown"
