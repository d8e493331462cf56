"""Deciding, user by user, what the store should hold: scope, filters, addresses, routing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tenantsync.engine.user_sync.rules import RuleSet, pick_addresses
from tenantsync.model import (
    DirectoryGroup,
    DirectoryUser,
    Location,
    MailboxKind,
    is_billable,
    non_billable_reason,
)


@dataclass(frozen=True)
class MailboxRow:
    """The state one mailbox should have, as the store columns see it.

    ``recipient_type`` None: the read did not say where the mailbox lives (its kind came
    from Graph), so a stored mailbox keeps its location and recipient type.
    """

    source_id: str
    primary_address: str
    display_name: str
    kind: MailboxKind
    licensed: bool
    enabled: bool
    policy_group: str | None
    dn: str | None
    exchange_guid: str | None
    aliases: tuple[str, ...]
    attributes: dict[str, Any]
    reason: str = ""
    location: Location = Location.CLOUD
    recipient_type: str | None = None

    @property
    def placed(self) -> bool:
        """Whether the read said exactly where the mailbox lives."""
        return self.recipient_type is not None

    @property
    def billable(self) -> bool:
        """Whether the mailbox bills (``model.is_billable``)."""
        return is_billable(self.kind, licensed=self.licensed, enabled=self.enabled)

    @property
    def non_billable_reason(self) -> str | None:
        """Why this mailbox does not bill, or None."""
        return non_billable_reason(self.kind, licensed=self.licensed, enabled=self.enabled)


@dataclass(frozen=True)
class Scope:
    """The task's scope: every mailbox, or members of one group (by id, name, DN, address)."""

    kind: str = "all"
    group_ids: frozenset[str] = frozenset()
    dn_suffix: str | None = None

    def admits(self, user: DirectoryUser, groups: frozenset[str]) -> bool:
        """Whether the user is inside the scope."""
        if self.kind == "all":
            return True
        if self.group_ids & groups:
            return True
        if self.dn_suffix and user.dn:
            return user.dn.lower().endswith(self.dn_suffix)
        return False


@dataclass(frozen=True)
class Decision:
    """A user's fate: a row to keep, or the reason it is not synced."""

    row: MailboxRow | None
    skip_reason: str = ""


class Decider:
    """Turns users and groups into desired mailbox rows."""

    def __init__(
        self,
        *,
        domains: frozenset[str],
        rules: RuleSet,
        scope: Scope,
        include_disabled: bool,
        include_guests: bool,
    ) -> None:
        self.domains = domains
        self.rules = rules
        self.scope = scope
        self.include_disabled = include_disabled
        self.include_guests = include_guests

    def user(
        self,
        user: DirectoryUser,
        kind: MailboxKind | None,
        groups: frozenset[str],
        exchange_guid: str | None = None,
        *,
        location: Location = Location.CLOUD,
        recipient_type: str | None = None,
    ) -> Decision:
        """Whether and how one user is synced; ``location`` and ``recipient_type`` are where
        the source says the mailbox lives (``recipient_type`` None: it did not say)."""
        if kind is None:
            return Decision(None, "has no mailbox")
        if user.is_guest and not self.include_guests:
            return Decision(None, "guest user")
        # Shared and resource mailboxes always have a disabled account; only people count.
        if not user.account_enabled and not self.include_disabled and kind is MailboxKind.USER:
            return Decision(None, "disabled account")
        primary, aliases = pick_addresses(user.addresses, self.domains)
        if primary is None:
            return Decision(None, "no address in the organization's domains")
        if not self.scope.admits(user, groups):
            return Decision(None, "outside the task's scope")
        routing = self.rules.route(user, groups)
        if routing.excluded:
            return Decision(None, routing.reason)
        row = MailboxRow(
            source_id=user.source_id,
            primary_address=primary,
            display_name=user.display_name,
            kind=kind,
            licensed=user.licensed,
            enabled=user.account_enabled,
            policy_group=routing.policy_group,
            dn=user.dn,
            exchange_guid=exchange_guid,
            aliases=aliases,
            attributes=user_attributes(user),
            reason=routing.reason,
            location=location,
            recipient_type=recipient_type,
        )
        return Decision(row)

    def group(self, group: DirectoryGroup) -> MailboxRow | None:
        """The address row of a mail-enabled group, or None when it has none in our domains."""
        if group.mail is None:
            return None
        primary, aliases = pick_addresses((group.mail, *group.addresses), self.domains)
        if primary is None:
            return None
        return MailboxRow(
            source_id=group.source_id,
            primary_address=primary,
            display_name=group.name,
            kind=MailboxKind.GROUP,
            licensed=False,
            enabled=True,
            policy_group=None,
            dn=group.dn,
            exchange_guid=None,
            aliases=aliases,
            attributes={"group_kind": group.kind.value},
            reason=f"{group.kind.value.replace('_', ' ')} group address",
        )


ATTRIBUTE_KEYS = (
    "user_principal_name",
    "mail",
    "given_name",
    "surname",
    "company_name",
    "department",
    "job_title",
    "user_type",
    "mail_enabled",
    "alias",
)


def user_attributes(user: DirectoryUser) -> dict[str, Any]:
    """The source properties kept with a mailbox, so rules can be re-run without a read."""
    data: dict[str, Any] = {key: getattr(user, key) for key in ATTRIBUTE_KEYS}
    data["license_skus"] = list(user.license_skus)
    data["proxy_addresses"] = list(user.proxy_addresses)
    return data


def user_from_row(
    source_id: str, display_name: str, enabled: bool, dn: str | None, attributes: dict[str, Any]
) -> DirectoryUser:
    """A user rebuilt from a stored mailbox (for re-routing after a membership change)."""
    proxies = [str(a) for a in attributes.get("proxy_addresses", [])]
    primary = [a[5:].lower() for a in proxies if a.startswith("SMTP:")]
    addresses = primary + [a[5:].lower() for a in proxies if a.startswith("smtp:")]
    mail = attributes.get("mail")
    return DirectoryUser(
        source_id=source_id,
        user_principal_name=str(attributes.get("user_principal_name") or ""),
        mail=str(mail) if mail else None,
        display_name=display_name,
        given_name=attributes.get("given_name"),
        surname=attributes.get("surname"),
        company_name=attributes.get("company_name"),
        department=attributes.get("department"),
        job_title=attributes.get("job_title"),
        user_type=str(attributes.get("user_type") or "Member"),
        account_enabled=enabled,
        mail_enabled=bool(attributes.get("mail_enabled", True)),
        licensed=bool(attributes.get("license_skus")),
        license_skus=tuple(attributes.get("license_skus", [])),
        addresses=tuple(a for a in addresses if a),
        proxy_addresses=tuple(attributes.get("proxy_addresses", [])),
        dn=dn,
        alias=attributes.get("alias"),
    )


def merge_groups(
    graph: dict[str, DirectoryGroup], exchange: dict[str, DirectoryGroup]
) -> dict[str, DirectoryGroup]:
    """Graph's groups with Exchange's DN and the dynamic groups only Exchange knows."""
    merged = dict(graph)
    for sid, group in exchange.items():
        known = merged.get(sid)
        if known is None:
            merged[sid] = group
        elif group.dn and known.dn != group.dn:
            merged[sid] = DirectoryGroup(
                source_id=sid,
                name=known.name,
                kind=known.kind,
                mail=known.mail or group.mail,
                dn=group.dn,
                addresses=known.addresses or group.addresses,
            )
    return merged
