"""User sync definition options: what is synced, filter rules, safety thresholds.

Rules are checked when the definition is saved: an unknown field or operator, a bad
regular expression, a missing value or destination are refused with a message naming
the rule (its position, and its name when it has one) and the problem. A member-of rule
naming a group the source does not have fails the run (groups are only known once read).

A destination policy group that does not exist yet is created by the first run that
routes a user to it, and the plan shows it ("add policy_group ... named by a filter
rule"), so a preview tells the administrator before anything is written.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

RULE_FIELDS = (
    "memberOf",
    "accountEnabled",
    "assignedLicenses",
    "companyName",
    "department",
    "displayName",
    "givenName",
    "mail",
    "mailEnabled",
    "userType",
    "surname",
    "proxyAddresses",
    "userPrincipalName",
    "id",
    "jobTitle",
)
OPERATORS = (
    "equals",
    "not-equals",
    "starts-with",
    "ends-with",
    "contains",
    "matches",
    "is-empty",
    "member-of",
)
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


class FilterRule(BaseModel):
    """One filter rule: a field, an operator, a value, and where matching users go."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, description="shown in plans and messages")
    field: str = Field(description="user property, one of " + ", ".join(RULE_FIELDS))
    operator: str = Field(description="one of " + ", ".join(OPERATORS))
    value: str | None = Field(default=None, description="not used by is-empty")
    case_sensitive: bool = False
    policy_group: str | None = Field(
        default=None, description="destination policy group; created when it does not exist"
    )
    exclude: bool = Field(default=False, description="matching users are not synced")

    def label(self, index: int) -> str:
        """How messages name this rule: its 1-based position and its name."""
        return f"rule {index + 1}" + (f" ({self.name})" if self.name else "")


class UserSyncOptions(BaseModel):
    """Options of a user sync definition."""

    model_config = ConfigDict(extra="forbid")

    domains: list[str] = Field(
        default_factory=list,
        description="domains whose addresses are synced; empty: every organization domain",
    )
    include_disabled: bool = Field(default=False, description="sync disabled accounts")
    include_guests: bool = Field(default=False, description="sync guest users")
    rules: list[FilterRule] = Field(
        default_factory=list, description="ordered filter rules, first match wins"
    )
    max_removals: int = Field(
        default=500, ge=0, description="a run removing more stops until confirmed"
    )
    max_removal_percent: float = Field(
        default=10.0, ge=0, le=100, description="a run removing more than this share stops"
    )
    restore_window_days: int | None = Field(
        default=None, ge=0, description="days a removed mailbox stays restorable; default setting"
    )
    full_reconciliation_hours: float = Field(
        default=24.0, gt=0, description="hours between full reads; delta links in between"
    )
    sync_groups: bool = Field(default=True, description="sync source groups and memberships")
    sync_group_addresses: bool = Field(
        default=True, description="sync distribution group addresses as kind group"
    )

    @field_validator("domains")
    @classmethod
    def _domains(cls, values: list[str]) -> list[str]:
        out = []
        for value in values:
            domain = value.strip().lower()
            if not _DOMAIN.fullmatch(domain):
                raise ValueError(f"{value!r} is not a domain name")
            if domain.endswith(".onmicrosoft.com"):
                raise ValueError(f"{value!r}: onmicrosoft.com addresses are never synced")
            out.append(domain)
        return out

    @field_validator("rules")
    @classmethod
    def _rules(cls, rules: list[FilterRule]) -> list[FilterRule]:
        # A field validator, so the problem is reported at ``rules`` (a form shows it there).
        for index, rule in enumerate(rules):
            problem = rule_problem(rule)
            if problem:
                raise ValueError(f"{rule.label(index)}: {problem}")
        return rules

    def uses_membership(self) -> bool:
        """Whether any rule looks at group membership."""
        return any(r.field == "memberOf" or r.operator == "member-of" for r in self.rules)


def rule_problem(rule: FilterRule) -> str | None:
    """What is wrong with one rule, or None."""
    if rule.field not in RULE_FIELDS:
        return f"unknown field {rule.field!r} (fields: {', '.join(RULE_FIELDS)})"
    if rule.operator not in OPERATORS:
        return f"unknown operator {rule.operator!r} (operators: {', '.join(OPERATORS)})"
    if rule.operator == "member-of" and rule.field != "memberOf":
        return "operator member-of needs field memberOf"
    if rule.operator != "is-empty" and not rule.value:
        return f"operator {rule.operator} needs a value"
    if rule.operator == "matches":
        assert rule.value is not None
        try:
            re.compile(rule.value)
        except re.error as exc:
            return f"invalid regular expression {rule.value!r}: {exc}"
    if rule.exclude == (rule.policy_group is not None):
        return "give exactly one of policy_group or exclude: true"
    if rule.policy_group is not None and not rule.policy_group.strip():
        return "policy_group is empty"
    return None


RuleOutcome = Literal["include", "exclude"]
