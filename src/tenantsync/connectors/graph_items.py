"""Graph v1.0 JSON items as :mod:`tenantsync.model` entities, and what a record leaves out.

A delta record may carry only some of the properties the read selected (Microsoft's own
example of a changed user carries only its names; ``Prefer: return=minimal`` does the
same). Such a record says nothing about the properties it leaves out, so it is never
turned into an entity: :func:`is_partial` finds it and the reader fetches the object
whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tenantsync.connectors.exchange import smtp_addresses
from tenantsync.model import (
    DirectoryGroup,
    DirectoryUser,
    GroupKind,
    MailboxKind,
    MemberRef,
    MembershipChange,
)

USER_SELECT = (
    "id",
    "userPrincipalName",
    "mail",
    "mailNickname",
    "displayName",
    "givenName",
    "surname",
    "companyName",
    "department",
    "jobTitle",
    "userType",
    "accountEnabled",
    "assignedLicenses",
    "proxyAddresses",
    "onPremisesDistinguishedName",
)
GROUP_SELECT = (
    "id",
    "displayName",
    "mail",
    "groupTypes",
    "mailEnabled",
    "securityEnabled",
    "proxyAddresses",
)
USER_TYPE = "#microsoft.graph.user"
GROUP_TYPE = "#microsoft.graph.group"
PURPOSES: dict[str, MailboxKind] = {
    "user": MailboxKind.USER,
    "linked": MailboxKind.USER,
    "shared": MailboxKind.SHARED,
    "room": MailboxKind.ROOM,
    "equipment": MailboxKind.EQUIPMENT,
    "scheduling": MailboxKind.SCHEDULING,
    # Graph has no value of its own for Bookings (scheduling) mailboxes: it says "others".
    "others": MailboxKind.SCHEDULING,
}


def is_partial(item: dict[str, Any], select: Iterable[str]) -> bool:
    """Whether a record leaves out any selected property (``id`` always comes)."""
    return any(key not in item for key in select if key != "id")


def carries_properties(item: dict[str, Any], select: Iterable[str]) -> bool:
    """Whether a record carries any selected property besides ``id`` (a group record may
    carry only ``members@delta``: a membership change, not a change of the group)."""
    return any(key in item for key in select if key != "id")


def user(item: dict[str, Any]) -> DirectoryUser:
    """A user from a whole record."""
    mail = item.get("mail")
    proxies = tuple(item.get("proxyAddresses") or ())
    licenses = tuple(
        str(lic.get("skuId")) for lic in item.get("assignedLicenses") or () if lic.get("skuId")
    )
    return DirectoryUser(
        source_id=str(item["id"]),
        user_principal_name=str(item.get("userPrincipalName") or ""),
        mail=mail,
        display_name=item.get("displayName") or "",
        given_name=item.get("givenName"),
        surname=item.get("surname"),
        company_name=item.get("companyName"),
        department=item.get("department"),
        job_title=item.get("jobTitle"),
        user_type=item.get("userType") or "Member",
        account_enabled=bool(item.get("accountEnabled", True)),
        mail_enabled=bool(mail),
        licensed=bool(licenses),
        license_skus=licenses,
        addresses=smtp_addresses(proxies, mail),
        proxy_addresses=proxies,
        dn=item.get("onPremisesDistinguishedName"),
        alias=item.get("mailNickname") or None,
    )


def group(item: dict[str, Any]) -> DirectoryGroup:
    """A group from a whole record."""
    types = item.get("groupTypes") or []
    mail_enabled = bool(item.get("mailEnabled"))
    security = bool(item.get("securityEnabled"))
    if "Unified" in types:
        kind = GroupKind.UNIFIED
    elif mail_enabled and security:
        kind = GroupKind.MAIL_SECURITY
    elif mail_enabled:
        kind = GroupKind.DISTRIBUTION
    else:
        kind = GroupKind.SECURITY
    mail = item.get("mail")
    return DirectoryGroup(
        source_id=str(item["id"]),
        name=str(item.get("displayName") or ""),
        kind=kind,
        mail=mail.lower() if mail else None,
        addresses=smtp_addresses(item.get("proxyAddresses") or (), mail),
    )


def member_change(item: dict[str, Any]) -> MembershipChange | None:
    """The direct members a group record's ``members@delta`` adds and removes."""
    entries = item.get("members@delta")
    if entries is None:
        return None
    added: list[MemberRef] = []
    removed: list[MemberRef] = []
    for entry in entries:
        kind = entry.get("@odata.type")
        if kind not in (USER_TYPE, GROUP_TYPE):
            continue
        ref = MemberRef(str(entry["id"]), kind == GROUP_TYPE)
        (removed if "@removed" in entry else added).append(ref)
    return MembershipChange(str(item["id"]), tuple(added), tuple(removed))


def purpose(body: Any) -> MailboxKind | None:
    """The kind a mailboxSettings answer's ``userPurpose`` names, or None.

    None for a value this code does not know (``unknownFutureValue``, or one Microsoft
    adds later) or no value at all: the mailbox exists, its kind must come from elsewhere.
    """
    if not isinstance(body, dict):
        return None
    value = body.get("value", body.get("userPurpose"))
    if isinstance(value, dict):
        value = value.get("value")
    return PURPOSES.get(str(value)) if value is not None else None
