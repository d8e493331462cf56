"""Filter rules as rows of a form: one row per rule (field, operator, value, where matching
users go), reordered and edited by plain form posts, so the rule builder works without
JavaScript; the static script only spares the round trip.

A row's inputs are named ``rule.<n>.<part>`` with ``n`` its position; the buttons post
``rule_action`` = ``add``, ``up:<n>``, ``down:<n>`` or ``remove:<n>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tenantsync.console.ops.errors import plain_path

NEW_GROUP = "new…"
EXCLUDE = "exclude"
_ROW = re.compile(r"rule\.(\d+)\.(\w+)$")
_RULE_LABEL = re.compile(r"rule (\d+)\b")


@dataclass(frozen=True)
class RuleRow:
    """One rule as the form shows it."""

    name: str = ""
    field: str = "department"
    operator: str = "equals"
    value: str = ""
    destination: str = ""  # a policy group's name, NEW_GROUP, or EXCLUDE
    new_group: str = ""
    case_sensitive: bool = False

    def to_rule(self) -> dict[str, Any]:
        """The rule as options store it (and as the API and YAML give it)."""
        rule: dict[str, Any] = {"field": self.field.strip(), "operator": self.operator.strip()}
        if self.name.strip():
            rule["name"] = self.name.strip()
        if self.value.strip() or self.operator != "is-empty":
            rule["value"] = self.value.strip() or None
        if self.case_sensitive:
            rule["case_sensitive"] = True
        if self.destination == EXCLUDE:
            rule["exclude"] = True
        else:
            group = self.new_group if self.destination == NEW_GROUP else self.destination
            rule["policy_group"] = group.strip() or None
        return rule


def rows_of(rules: list[dict[str, Any]], groups: list[str]) -> list[RuleRow]:
    """Stored rules as rows; a destination that is no policy group yet is a new one."""
    rows = []
    for rule in rules:
        target = rule.get("policy_group") or ""
        if rule.get("exclude"):
            destination, new_group = EXCLUDE, ""
        elif target in groups:
            destination, new_group = target, ""
        else:
            destination, new_group = NEW_GROUP, target
        rows.append(
            RuleRow(
                name=str(rule.get("name") or ""),
                field=str(rule.get("field") or ""),
                operator=str(rule.get("operator") or ""),
                value=str(rule.get("value") or ""),
                destination=destination,
                new_group=new_group,
                case_sensitive=bool(rule.get("case_sensitive")),
            )
        )
    return rows


def rows_from_form(form: dict[str, str]) -> list[RuleRow]:
    """The rows a form posted, in position order (a checkbox not posted is off)."""
    parts: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        match = _ROW.match(key)
        if match:
            parts.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return [
        RuleRow(
            name=p.get("name", ""),
            field=p.get("field", ""),
            operator=p.get("operator", ""),
            value=p.get("value", ""),
            destination=p.get("destination", ""),
            new_group=p.get("new_group", ""),
            case_sensitive=p.get("case_sensitive", "") in ("on", "true", "1"),
        )
        for _, p in sorted(parts.items())
    ]


def act(rows: list[RuleRow], action: str) -> tuple[list[RuleRow], str]:
    """Rows after a button (add, up:n, down:n, remove:n), and the button to focus after it
    (so a keyboard user stays on the row that moved)."""
    rows = list(rows)
    verb, _, where = action.partition(":")
    if verb == "add":
        rows.append(RuleRow())
        return rows, f"rule-{len(rows) - 1}-field"
    if not where.isdigit() or int(where) >= len(rows):
        return rows, ""
    n = int(where)
    if verb == "remove":
        del rows[n]
        return rows, "add-rule"
    to = n - 1 if verb == "up" else n + 1 if verb == "down" else n
    if 0 <= to < len(rows) and to != n:
        rows[n], rows[to] = rows[to], rows[n]
        return rows, f"rule-{to}-{verb}"
    return rows, f"rule-{n}-{verb}"


def row_errors(errors: dict[str, str], count: int) -> tuple[dict[int, str], dict[str, str]]:
    """Errors of the rules by row (``opt.rules.2.value`` or "rule 3 (…): …"), and the rest."""
    by_row: dict[int, str] = {}
    rest: dict[str, str] = {}
    for key, message in errors.items():
        index: int | None = None
        if key.startswith("opt.rules."):
            parts = key.removeprefix("opt.rules.").split(".")
            index = int(parts[0]) if parts[0].isdigit() else None
            where = plain_path(parts, within="rules")  # "rule 1, exclude"
            if not message.startswith(where.split(",")[0]):  # a message may name its rule
                message = f"{where}: {message}"
        elif key == "opt.rules" and (found := _RULE_LABEL.match(message)):
            index = int(found.group(1)) - 1
        if index is not None and 0 <= index < count:
            by_row.setdefault(index, message)
        else:
            rest[key] = message
    return by_row, rest
