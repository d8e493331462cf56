"""Evaluating filter rules and scope against a user: pure functions, no I/O."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from tenantsync.engine.user_sync.options import FilterRule
from tenantsync.errors import ConfigError
from tenantsync.model import DirectoryUser

Getter = Callable[[DirectoryUser], "str | bool | tuple[str, ...] | None"]
FIELD_GETTERS: dict[str, Getter] = {
    "accountEnabled": lambda u: u.account_enabled,
    "assignedLicenses": lambda u: u.license_skus,
    "companyName": lambda u: u.company_name,
    "department": lambda u: u.department,
    "displayName": lambda u: u.display_name,
    "givenName": lambda u: u.given_name,
    "mail": lambda u: u.mail,
    "mailEnabled": lambda u: u.mail_enabled,
    "userType": lambda u: u.user_type,
    "surname": lambda u: u.surname,
    "proxyAddresses": lambda u: u.proxy_addresses,
    "userPrincipalName": lambda u: u.user_principal_name,
    "id": lambda u: u.source_id,
    "jobTitle": lambda u: u.job_title,
}


@dataclass(frozen=True)
class Routing:
    """Where a user goes: a policy group (None: the default), or excluded; and why."""

    policy_group: str | None
    excluded: bool
    reason: str


@dataclass(frozen=True)
class GroupIndex:
    """Source groups by id and by lower-cased name, to resolve member-of values."""

    names: Mapping[str, str]
    by_name: Mapping[str, frozenset[str]]

    @classmethod
    def build(cls, groups: Iterable[tuple[str, str]]) -> GroupIndex:
        """From (source id, name) pairs."""
        names: dict[str, str] = {}
        by_name: dict[str, set[str]] = {}
        for source_id, name in groups:
            names[source_id] = name
            by_name.setdefault(name.lower(), set()).add(source_id)
        return cls(names, {k: frozenset(v) for k, v in by_name.items()})

    def resolve(self, value: str) -> frozenset[str]:
        """The ids a member-of value names (an id or a group name)."""
        if value in self.names:
            return frozenset({value})
        return self.by_name.get(value.lower(), frozenset())


class RuleSet:
    """Compiled filter rules; :meth:`route` applies the first rule that matches."""

    def __init__(self, rules: list[FilterRule], groups: GroupIndex | None = None) -> None:
        self.rules = rules
        self.groups = groups or GroupIndex({}, {})
        self._matchers = [self._compile(i, r) for i, r in enumerate(rules)]

    def missing_groups(self) -> list[str]:
        """Messages for member-of rules naming groups that do not exist."""
        out = []
        for index, rule in enumerate(self.rules):
            if rule.operator == "member-of" or (
                rule.field == "memberOf" and rule.operator == "equals"
            ):
                assert rule.value is not None
                if not self.groups.resolve(rule.value):
                    out.append(f"{rule.label(index)}: no source group {rule.value!r}")
        return out

    def first_match(self, user: DirectoryUser, member_of: frozenset[str]) -> int | None:
        """The position of the first rule that matches the user, or None."""
        for index, matcher in enumerate(self._matchers):
            if matcher(user, member_of):
                return index
        return None

    def route(self, user: DirectoryUser, member_of: frozenset[str]) -> Routing:
        """The first matching rule's destination; users matching none go to the default."""
        index = self.first_match(user, member_of)
        if index is None:
            return Routing(None, False, "no rule matched" if self.rules else "")
        rule = self.rules[index]
        if rule.exclude:
            return Routing(None, True, f"excluded by {rule.label(index)}")
        return Routing(rule.policy_group, False, f"{rule.label(index)} matched")

    def _compile(
        self, index: int, rule: FilterRule
    ) -> Callable[[DirectoryUser, frozenset[str]], bool]:
        value = rule.value or ""
        fold = (lambda s: s) if rule.case_sensitive else str.lower
        test = _string_test(rule.operator, fold(value), rule.case_sensitive)
        if rule.field == "memberOf":
            if rule.operator == "is-empty":
                return lambda _u, groups: not groups
            if rule.operator in ("member-of", "equals", "not-equals"):
                wanted = self.groups.resolve(value)
                negate = rule.operator == "not-equals"
                return lambda _u, groups: bool(wanted & groups) != negate
            names = self.groups.names
            return lambda _u, groups: any(test(fold(names.get(g, g))) for g in groups)
        getter = FIELD_GETTERS.get(rule.field)
        if getter is None:
            raise ConfigError(f"{rule.label(index)}: unknown field {rule.field!r}")

        def match(user: DirectoryUser, _groups: frozenset[str]) -> bool:
            raw = getter(user)
            values = _values(raw)
            if rule.operator == "is-empty":
                return not values
            if rule.operator == "not-equals":
                return all(fold(v) != fold(value) for v in values)
            return any(test(fold(v)) for v in values)

        return match


def _values(raw: str | bool | tuple[str, ...] | None) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, bool):
        return ["true" if raw else "false"]
    if isinstance(raw, tuple):
        return [v for v in raw if v]
    return [raw] if raw else []


def _string_test(operator: str, value: str, case_sensitive: bool) -> Callable[[str], bool]:
    if operator == "equals":
        return lambda v: v == value
    if operator == "starts-with":
        return lambda v: v.startswith(value)
    if operator == "ends-with":
        return lambda v: v.endswith(value)
    if operator == "contains":
        return lambda v: value in v
    if operator == "matches":
        pattern = re.compile(value, 0 if case_sensitive else re.IGNORECASE)
        return lambda v: pattern.search(v) is not None
    return lambda _v: False


def address_domain(address: str) -> str:
    """The domain part of an address, lower-cased."""
    return address.rsplit("@", 1)[-1].lower()


def pick_addresses(
    addresses: Iterable[str], domains: frozenset[str]
) -> tuple[str | None, tuple[str, ...]]:
    """The primary address and aliases inside ``domains`` (never onmicrosoft.com)."""
    kept = [
        a
        for a in addresses
        if (d := address_domain(a)) in domains and not d.endswith(".onmicrosoft.com")
    ]
    if not kept:
        return None, ()
    return kept[0], tuple(sorted(set(kept[1:]) - {kept[0]}))
