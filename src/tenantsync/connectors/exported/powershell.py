"""What admins run or import: PowerShell commands that grant a right on one side, and the
CSV ``New-MigrationBatch -CSVData`` takes.

Arguments are single-quoted (a quote inside doubled), so any address or name is one
argument and nothing in it is expanded by PowerShell.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from tenantsync.model.hybrid import Side


def quote(value: str) -> str:
    """A PowerShell single-quoted string literal."""
    return "'" + value.replace("'", "''") + "'"


def grant_send_as(mailbox: str, trustee: str, side: Side) -> str:
    """The command that grants Send As on ``side``: Add-ADPermission on-premises,
    Add-RecipientPermission in Exchange Online."""
    if side is Side.ON_PREMISES:
        return (
            f"Add-ADPermission -Identity {quote(mailbox)} -User {quote(trustee)} "
            "-AccessRights ExtendedRight -ExtendedRights 'Send As'"
        )
    return (
        f"Add-RecipientPermission -Identity {quote(mailbox)} -Trustee {quote(trustee)} "
        "-AccessRights SendAs -Confirm:$false"
    )


def grant_full_access(mailbox: str, trustee: str, *, automapping: bool) -> str:
    """Add-MailboxPermission for Full Access (Exchange Online after a move)."""
    mapping = "$true" if automapping else "$false"
    return (
        f"Add-MailboxPermission -Identity {quote(mailbox)} -User {quote(trustee)} "
        f"-AccessRights FullAccess -InheritanceType All -AutoMapping:{mapping}"
    )


def grant_send_on_behalf(mailbox: str, trustee: str) -> str:
    """Set-Mailbox adding a Send on Behalf delegate."""
    return f"Set-Mailbox -Identity {quote(mailbox)} -GrantSendOnBehalfTo @{{Add={quote(trustee)}}}"


def grant_folder(mailbox: str, folder: str, trustee: str, role: str, delegate: bool) -> str:
    """Add-MailboxFolderPermission for a folder (calendar) role."""
    flags = " -SharingPermissionFlags Delegate" if delegate else ""
    rights = role.split(",")[0].strip() or "Reviewer"
    identity = quote(mailbox + ":\\" + folder)
    return (
        f"Add-MailboxFolderPermission -Identity {identity} "
        f"-User {quote(trustee)} -AccessRights {rights}{flags}"
    )


def migration_csv(addresses: Iterable[str]) -> str:
    """The CSV New-MigrationBatch -CSVData accepts: one EmailAddress per mailbox to move."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["EmailAddress"])
    for address in addresses:
        writer.writerow([address])
    return out.getvalue()
