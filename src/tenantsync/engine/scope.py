"""What a task's scope and a definition's filter rules name in the directory: the one
definition of how a group is found by name or id, by address and by DN in what has been
synced into the store for the organization.

Mailbox permission sync resolves its scope through :class:`SyncedDirectory`;
`tenantsync apply`, the console pages and the REST API check scopes and rules with it,
so a group, address or DN is judged the same way wherever a task or definition is saved
and wherever it runs.
A name can only be checked once the organization has synced groups (source groups, or
distribution-group addresses), a DN once a synced group or mailbox carries one: before
that, it is accepted with a note that the first run checks it (a run whose directory can
look a DN up refuses one that does not exist before it reads anything, see
``OpenedSource.check_scope``). Lengths that no stored value can exceed are refused either way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tenantsync.store import limits
from tenantsync.store.models import Domain, Mailbox, MailboxKind, SourceGroup

if TYPE_CHECKING:
    from tenantsync.engine.user_sync.options import FilterRule

Loc = tuple[str | int, ...]
SCOPE_FORMS = {
    "group": "group",
    "dn": "distinguished name",
    "address": "distribution group address",
}


@dataclass
class Findings:
    """Problems that refuse the save, and notes on what is accepted unchecked; each at a
    location below the checked object (``()`` is the value itself)."""

    problems: list[tuple[Loc, str]] = field(default_factory=list)
    notes: list[tuple[Loc, str]] = field(default_factory=list)

    def extend(self, other: Findings) -> None:
        """Add another check's findings."""
        self.problems.extend(other.problems)
        self.notes.extend(other.notes)


class SyncedDirectory:
    """The groups, group addresses and DNs synced into one organization, looked up on demand
    (``organization_id`` None: an organization that does not exist yet)."""

    def __init__(self, session: Session, organization_id: int | None) -> None:
        self._session = session
        self._org = organization_id
        self._synced: bool | None = None
        self._dns_synced: bool | None = None

    @property
    def synced(self) -> bool:
        """Whether any group or distribution-group address has been synced."""
        if self._synced is None:
            self._synced = self._org is not None and (
                self._exists(select(SourceGroup.id).where(self._live_group()))
                or self._exists(select(Mailbox.id).where(self._group_address()))
            )
        return self._synced

    @property
    def dns_synced(self) -> bool:
        """Whether a synced group or mailbox carries a DN (a DN scope can be checked)."""
        if self._dns_synced is None:
            self._dns_synced = self._org is not None and (
                self._exists(
                    select(SourceGroup.id).where(self._live_group(), SourceGroup.dn.is_not(None))
                )
                or self._exists(
                    select(Mailbox.id).where(
                        Mailbox.organization_id == self._org,
                        Mailbox.deleted_at.is_(None),
                        Mailbox.source_dn.is_not(None),
                    )
                )
            )
        return self._dns_synced

    def group(self, value: str, *, by_row_id: bool = False) -> SourceGroup | None:
        """The synced group with this source id or name (any case); live ones first."""
        found = self.groups(value, by_row_id=by_row_id)
        return found[0] if found else None

    def groups(self, value: str, *, by_row_id: bool = False) -> list[SourceGroup]:
        """Every synced group with this source id or name (any case); live ones first."""
        # Names are compared in Python: SQLite's lower() folds ASCII letters only.
        conditions = [SourceGroup.source_id == value, func.length(SourceGroup.name) == len(value)]
        if by_row_id and value.isdigit() and len(value) < 10:
            conditions.append(SourceGroup.id == int(value))
        rows = self._session.scalars(
            select(SourceGroup).where(SourceGroup.organization_id == self._org, or_(*conditions))
        ).all()
        wanted = value.lower()
        found = [
            g
            for g in rows
            if g.source_id == value
            or g.name.lower() == wanted
            or (by_row_id and str(g.id) == value)
        ]
        found.sort(key=lambda g: g.deleted_at is not None)
        return found

    def group_by_address(self, value: str) -> SourceGroup | None:
        """The synced group whose address is ``value`` (any case); a live one first."""
        wanted = value.lower()
        rows = self._session.scalars(
            select(SourceGroup).where(
                SourceGroup.organization_id == self._org,
                func.length(SourceGroup.mail) == len(value),
            )
        )
        found = sorted(
            (g for g in rows if (g.mail or "").lower() == wanted),
            key=lambda g: g.deleted_at is not None,
        )
        return found[0] if found else None

    def group_by_dn(self, value: str) -> SourceGroup | None:
        """The live synced group whose DN is ``value`` (any case)."""
        wanted = value.lower()
        rows = self._session.scalars(
            select(SourceGroup).where(self._live_group(), func.length(SourceGroup.dn) == len(value))
        )
        return next((g for g in rows if (g.dn or "").lower() == wanted), None)

    def has_address(self, value: str) -> bool:
        """Whether a live group or distribution-group address is ``value`` (any case)."""
        group = self.group_by_address(value)
        if group is not None and group.deleted_at is None:
            return True
        wanted = value.lower()
        addresses = self._session.scalars(
            select(Mailbox.primary_address).where(
                self._group_address(), func.length(Mailbox.primary_address) == len(value)
            )
        )
        return any(a.lower() == wanted for a in addresses)

    def is_mailbox_address(self, value: str) -> bool:
        """Whether ``value`` is the address of a synced mailbox that is not a group."""
        return self._exists(
            select(Mailbox.id).where(
                Mailbox.organization_id == self._org,
                Mailbox.kind != MailboxKind.GROUP,
                or_(
                    Mailbox.primary_address == value,
                    func.lower(Mailbox.primary_address) == value.lower(),
                ),
            )
        )

    def has_dn(self, value: str) -> bool:
        """Whether ``value`` is a live group's DN, a mailbox's DN, or a container of
        mailboxes (what both syncs resolve a DN scope to)."""
        if self.group_by_dn(value) is not None:
            return True
        wanted = value.lower()
        mailbox_dn = Mailbox.source_dn
        return self._exists(
            select(Mailbox.id).where(
                Mailbox.organization_id == self._org,
                Mailbox.deleted_at.is_(None),
                or_(
                    mailbox_dn == value,
                    func.lower(mailbox_dn) == wanted,
                    mailbox_dn.endswith("," + value, autoescape=True),
                    func.lower(mailbox_dn).endswith("," + wanted, autoescape=True),
                ),
            )
        )

    def domains(self) -> set[str]:
        """The organization's domains (lower case)."""
        if self._org is None:
            return set()
        names = self._session.scalars(
            select(Domain.name).where(Domain.organization_id == self._org)
        )
        return {name.lower() for name in names}

    def _live_group(self) -> Any:
        return (SourceGroup.organization_id == self._org) & SourceGroup.deleted_at.is_(None)

    def _group_address(self) -> Any:
        return (
            (Mailbox.organization_id == self._org)
            & (Mailbox.kind == MailboxKind.GROUP)
            & Mailbox.deleted_at.is_(None)
        )

    def _exists(self, query: Any) -> bool:
        return self._session.scalar(query.limit(1)) is not None


def check_scope(directory: SyncedDirectory, kind: str, value: str | None) -> Findings:
    """Whether a task's scope names a group, address or DN the organization has synced."""
    found = Findings()
    if kind not in SCOPE_FORMS or not value:
        return found
    if len(value) > limits.SCOPE_VALUE:
        found.problems.append(((), limits.longer_than(limits.SCOPE_VALUE, value)))
        return found
    # A DN is checked against every synced DN: mailboxes carry theirs without any group.
    if not (directory.dns_synced if kind == "dn" else directory.synced):
        found.notes.append(((), _unchecked(f"{SCOPE_FORMS[kind]} {value!r}")))
        return found
    problem: str | None = None
    if kind == "group":
        problem = _group_problem(directory.group(value, by_row_id=True), value)
    elif kind == "address" and not directory.has_address(value):
        problem = f"no synced group has the address {value!r}"
        if directory.is_mailbox_address(value):
            problem += " (it is a mailbox's address, not a group's)"
    elif kind == "dn" and not directory.has_dn(value):
        problem = f"no synced group, mailbox or container has the DN {value!r}"
    if problem:
        found.problems.append(((), problem))
    return found


def check_options(
    directory: SyncedDirectory, options: BaseModel, *, also_domains: Iterable[str] = ()
) -> Findings:
    """Whether a definition's domains are the organization's (its stored ones, and
    ``also_domains`` about to be added with it), whether its filter rules name synced
    groups, and whether they fit the store: a rule's destination becomes a policy group,
    whose name has a length limit."""
    # Imported here: the options module is loaded whenever such options exist, and the
    # engine package would slow every command that only imports this module.
    from tenantsync.engine.user_sync.options import UserSyncOptions

    found = Findings()
    if not isinstance(options, UserSyncOptions):
        return found
    if options.domains:
        known = directory.domains() | {d.lower() for d in also_domains}
        unknown = [d for d in options.domains if d not in known]
        if unknown:
            found.problems.append((("domains",), _not_ours(unknown, known)))
    for index, rule in enumerate(options.rules):
        found.extend(_check_rule(directory, index, rule))
    return found


def _not_ours(unknown: list[str], known: set[str]) -> str:
    which = ", ".join(unknown)
    verb = "is not a domain" if len(unknown) == 1 else "are not domains"
    if not known:
        return f"{which} {verb} of the organization, which has none yet: add its domains first"
    return f"{which} {verb} of the organization (its domains: {', '.join(sorted(known))})"


def _check_rule(directory: SyncedDirectory, index: int, rule: FilterRule) -> Findings:
    found = Findings()
    label = rule.label(index)
    target = rule.policy_group
    if target is not None and len(target) > limits.POLICY_GROUP_NAME:
        too_long = limits.longer_than(limits.POLICY_GROUP_NAME, target)
        message = f"{label}: the policy group name is too long: {too_long}"
        found.problems.append((("rules", index, "policy_group"), message))
    names_group = rule.field == "memberOf" and rule.operator in (
        "member-of",
        "equals",
        "not-equals",
    )
    if not names_group or not rule.value:
        return found
    where: Loc = ("rules", index, "value")
    if len(rule.value) > limits.GROUP_NAME:
        too_long = limits.longer_than(limits.GROUP_NAME, rule.value)
        message = f"{label}: the group name is too long: {too_long}"
        found.problems.append((where, message))
    elif not directory.synced:
        found.notes.append((where, f"{label}: " + _unchecked(f"group {rule.value!r}")))
    elif problem := _group_problem(directory.group(rule.value), rule.value):
        found.problems.append((where, f"{label}: {problem}"))
    return found


def _group_problem(group: SourceGroup | None, value: str) -> str | None:
    if group is None:
        return f"no synced group named {value!r} (nor with that id)"
    if group.deleted_at is not None:
        return f"the group {value!r} was removed from the source on {group.deleted_at:%Y-%m-%d}"
    return None


def _unchecked(what: str) -> str:
    return f"{what} cannot be checked yet (no groups synced); the first run checks it"
