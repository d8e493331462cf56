"""Which permissions work across premises, per right and direction, and the prerequisites
the organization's Exchange version and Entra Connect settings leave unmet.

Microsoft's statements (learn.microsoft.com: "Permissions in Exchange hybrid deployments",
"Overview of delegation in a Microsoft 365 hybrid environment", "Configure Exchange to
support delegated mailbox permissions in a hybrid deployment", KB 4051497):

* Full Access works both ways (Outlook desktop; Outlook on the web only through "open
  another mailbox", redirected, with a credential prompt), once the mailbox on the other
  side is ACLable (ACLable object synchronization); auto-mapping does not work across
  premises, and never for groups.
* Send on Behalf works both ways only with Entra Connect 1.1.553.0 or later running the
  Exchange hybrid option, and ACLable object synchronization on.
* Send As is not synchronized: it works only when granted by hand on both sides
  (Add-ADPermission on-premises, Add-RecipientPermission online).
* Folder permissions (calendar delegates included) do not work across premises; free/busy
  does (through the organization relationship) and is not counted as a folder permission.
* Exchange 2016 and later need ACLable object synchronization at organization level, plus
  ACLs enabled by hand on mailboxes moved before that; Exchange 2013 needs the latest or
  previous cumulative update and ACL stamping, with remote mailboxes moved before CU10 fixed
  by hand; Exchange 2010 and older are unsupported.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from tenantsync.engine.hybrid.grants import AUTOMAPPED, CLOUD, ON_PREMISES, HybridRight
from tenantsync.model.hybrid import ExchangeServer, Side


class Category(enum.StrEnum):
    """What becomes of a grant across premises."""

    SAME_SIDE = "same_side"
    WORKS = "works"
    LIMITED = "limited"
    CONDITIONAL = "conditional"
    MANUAL = "manual"
    BROKEN = "broken"
    UNKNOWN = "unknown"


CATEGORY_TITLES = {
    Category.SAME_SIDE: "same side: works",
    Category.WORKS: "works across premises",
    Category.LIMITED: "works, with limits",
    Category.CONDITIONAL: "works only if a prerequisite holds (not known)",
    Category.MANUAL: "needs a grant by hand on the other side",
    Category.BROKEN: "does not work across premises",
    Category.UNKNOWN: "location not known",
}
ENTRA_CONNECT_MINIMUM = (1, 1, 553, 0)
EXCHANGE_2013_SUPPORTED_BUILD = 1473  # CU22 (15.0.1473): the previous CU to the last, CU23
EXCHANGE_2013_CU10_BUILD = 1130
ACLABLE_FIX = "Set-OrganizationConfig -ACLableSyncedObjectEnabled $true"
REMOTE_ACL_FIX = (
    "Get-RemoteMailbox -ResultSize Unlimited | ForEach-Object { Get-ADUser -Identity $_.Guid "
    "| Set-ADObject -Replace @{msExchRecipientDisplayType=-1073741818} }"
)
REASONS = {
    "same_on_premises": "mailbox and trustee are both on-premises",
    "same_cloud": "mailbox and trustee are both in Exchange Online",
    "unknown_location": "where the mailbox or the trustee lives is not known",
    "unsupported_exchange": "Exchange 2010 and older do not support cross-premises permissions",
    "full_access": "Full Access works across premises (Outlook desktop; Outlook on the web "
    "only through 'open another mailbox', with a credential prompt)",
    "full_access_automapped": "Full Access works across premises, but auto-mapping does not: "
    "the mailbox must be added in Outlook by hand",
    "full_access_no_acl": "Full Access across premises needs ACLable object synchronization, "
    "which is off",
    "full_access_acl_unknown": "Full Access works across premises once ACLable object "
    "synchronization is on (not known: export Get-OrganizationConfig)",
    "send_on_behalf": "Send on Behalf works across premises (Entra Connect with the Exchange "
    "hybrid option and ACLable object synchronization)",
    "send_on_behalf_missing": "Send on Behalf across premises needs Entra Connect 1.1.553.0 or "
    "later with the Exchange hybrid option and ACLable object synchronization, not all in place",
    "send_on_behalf_unknown": "Send on Behalf works across premises only with Entra Connect "
    "1.1.553.0 or later with the Exchange hybrid option and ACLable object synchronization "
    "(not all known)",
    "send_as_both": "Send As was granted by hand on both sides",
    "send_as_one": "Send As is not synchronized: it works only when granted on both sides; "
    "run the command for the side that lacks it",
    "folder": "folder permissions (calendar delegates included) do not work across premises",
}


@dataclass(frozen=True)
class Organization:
    """What is known of the organization: its Exchange version, ACLable synchronization and
    Entra Connect (None: not known)."""

    version: tuple[int, int, int] | None
    aclable_sync: bool | None
    entra_connect: tuple[int, ...] | None
    exchange_hybrid: bool | None

    @property
    def unsupported(self) -> bool:
        """Exchange 2010 or older: no cross-premises permissions at all."""
        return self.version is not None and self.version[0] < 15

    @property
    def send_on_behalf(self) -> bool | None:
        """Whether every Send on Behalf prerequisite holds (None: some are not known)."""
        parts = [
            None if self.entra_connect is None else self.entra_connect >= ENTRA_CONNECT_MINIMUM,
            self.exchange_hybrid,
            self.aclable_sync,
        ]
        if any(p is False for p in parts):
            return False
        return None if any(p is None for p in parts) else True


def organization(
    servers: list[ExchangeServer],
    aclable_sync: bool | None,
    entra_connect: str | None,
    exchange_hybrid: bool | None,
) -> Organization:
    """The organization's facts: the oldest Exchange server's version governs."""
    version = min((s.version for s in servers), default=None)
    connect = tuple(int(p) for p in entra_connect.split(".")) if entra_connect else None
    return Organization(version, aclable_sync, connect, exchange_hybrid)


def classify(
    right: HybridRight, mailbox: Side | None, trustee: Side | None, flags: int, org: Organization
) -> tuple[Category, str]:
    """A grant's category and reason code (a key of :data:`REASONS`)."""
    if mailbox is None or trustee is None:
        return Category.UNKNOWN, "unknown_location"
    if mailbox is trustee:
        return (
            Category.SAME_SIDE,
            "same_on_premises" if mailbox is Side.ON_PREMISES else "same_cloud",
        )
    if org.unsupported:
        return Category.BROKEN, "unsupported_exchange"
    if right is HybridRight.FULL_ACCESS:
        if org.aclable_sync is False:
            return Category.BROKEN, "full_access_no_acl"
        if org.aclable_sync is None:
            return Category.CONDITIONAL, "full_access_acl_unknown"
        if flags & AUTOMAPPED:
            return Category.LIMITED, "full_access_automapped"
        return Category.WORKS, "full_access"
    if right is HybridRight.SEND_ON_BEHALF:
        holds = org.send_on_behalf
        if holds is None:
            return Category.CONDITIONAL, "send_on_behalf_unknown"
        return (
            (Category.WORKS, "send_on_behalf")
            if holds
            else (Category.BROKEN, "send_on_behalf_missing")
        )
    if right is HybridRight.SEND_AS:
        both = flags & ON_PREMISES and flags & CLOUD
        return (Category.WORKS, "send_as_both") if both else (Category.MANUAL, "send_as_one")
    return Category.BROKEN, "folder"


def direction(mailbox: Side | None, trustee: Side | None) -> str:
    """Who reaches what: the trustee's side, then the mailbox's ("cloud→on_premises": a
    person in the cloud holds a right on an on-premises mailbox)."""
    if mailbox is None or trustee is None:
        return "unknown"
    if mailbox is trustee:
        return mailbox.value
    return f"{trustee.value}→{mailbox.value}"


@dataclass(frozen=True)
class Prerequisite:
    """One prerequisite: whether it is met (None: not known), what was found, the fix."""

    name: str
    met: bool | None
    detail: str
    fix: str = ""


def prerequisites(org: Organization, migrated: int) -> list[Prerequisite]:
    """The prerequisites of cross-premises permissions for this organization."""
    found: list[Prerequisite] = []
    v = org.version
    if v is None:
        found.append(Prerequisite("Exchange version", None, "not known: export Get-ExchangeServer"))
    elif v[0] < 15:
        found.append(
            Prerequisite(
                "Exchange version",
                False,
                f"{_version(v)}: Exchange 2010 and older do not support cross-premises permissions",
                "upgrade to Exchange 2016 or later",
            )
        )
    elif v[:2] == (15, 0):
        ok = v[2] >= EXCHANGE_2013_SUPPORTED_BUILD
        found.append(
            Prerequisite(
                "Exchange 2013 cumulative update",
                ok,
                f"{_version(v)}: Exchange 2013 needs its latest or previous cumulative update "
                f"(build {EXCHANGE_2013_SUPPORTED_BUILD} or later)",
                "" if ok else "install Exchange 2013 CU23",
            )
        )
    else:
        found.append(Prerequisite("Exchange version", True, f"{_version(v)}: supported"))
    if v is None or v[0] >= 15:
        what = (
            "ACL stamping"
            if v is not None and v[:2] == (15, 0)
            else "ACLable object synchronization"
        )
        found.append(
            Prerequisite(
                what,
                org.aclable_sync,
                {
                    True: "enabled",
                    False: "disabled",
                    None: "not known: export Get-OrganizationConfig",
                }[org.aclable_sync],
                "" if org.aclable_sync else ACLABLE_FIX,
            )
        )
        if migrated:
            before = (
                "before CU10" if v is not None and v[:2] == (15, 0) else "before it was enabled"
            )
            found.append(
                Prerequisite(
                    "ACLs on mailboxes moved earlier",
                    None,
                    f"{migrated} mailboxes are in the cloud already: those moved {before} "
                    "need their ACLs enabled by hand",
                    REMOTE_ACL_FIX,
                )
            )
    connect = org.entra_connect
    recent = None if connect is None else connect >= ENTRA_CONNECT_MINIMUM
    met = (
        False
        if False in (recent, org.exchange_hybrid)
        else (None if None in (recent, org.exchange_hybrid) else True)
    )
    detail = (
        "version "
        + (".".join(map(str, connect)) if connect else "not known")
        + ", Exchange hybrid option "
        + {True: "on", False: "off", None: "not known"}[org.exchange_hybrid]
    )
    found.append(
        Prerequisite(
            "Entra Connect for Send on Behalf",
            met,
            detail,
            "" if met else "Entra Connect 1.1.553.0 or later with its Exchange hybrid option "
            "(set entra_connect_version and entra_connect_exchange_hybrid once known)",
        )
    )  # fmt: skip
    return found


def _version(v: tuple[int, int, int]) -> str:
    names = {(15, 2): "Exchange 2019", (15, 1): "Exchange 2016", (15, 0): "Exchange 2013"}
    return f"{names.get(v[:2], f'Exchange {v[0]}.{v[1]}')} (build {v[0]}.{v[1]}.{v[2]})"
