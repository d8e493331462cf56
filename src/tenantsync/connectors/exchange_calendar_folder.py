"""A mailbox calendar folder's permissions from the Exchange admin API: who the calendar is
shared with, as delegate or not, and who may see private items (``SharingPermissionFlags``
holding ``CanViewPrivateItems``). The folder's name is localized, so Exchange is asked
for it when ``:\\Calendar`` is not found."""

from __future__ import annotations

from typing import Any

from tenantsync.connectors.exchange import ExchangeClient
from tenantsync.errors import SourceError
from tenantsync.model.calendar import FolderDelegate
from tenantsync.model.permissions import MailboxRef


async def folder_delegates(
    exchange: ExchangeClient, mailbox: MailboxRef
) -> tuple[FolderDelegate, ...]:
    """The calendar folder's permissions: who it is shared with, and who may see
    private items (``SharingPermissionFlags`` holding ``CanViewPrivateItems``)."""
    identity = mailbox.address
    try:
        rows = await exchange.run(
            "Get-MailboxFolderPermission", {"Identity": f"{identity}:\\Calendar"}
        )
    except SourceError as exc:
        if exc.status != 404:
            raise
        # The folder's name is localized: ask Exchange for it.
        folders = await exchange.run(
            "Get-MailboxFolderStatistics", {"Identity": identity, "FolderScope": "Calendar"}
        )
        names = [str(f.get("Name")) for f in folders if f.get("FolderType") == "Calendar"]
        name = names[0] if names else None
        if name is None:
            return ()
        rows = await exchange.run(
            "Get-MailboxFolderPermission", {"Identity": f"{identity}:\\{name}"}
        )
    out = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        user = str(row.get("User") or "")
        if user in ("Default", "Anonymous") or not user:
            continue
        flags = _words(row.get("SharingPermissionFlags"))
        rights = _words(row.get("AccessRights"))
        out.append(
            FolderDelegate(
                user=user,
                role=rights[0] if rights else "",
                delegate="Delegate" in flags,
                private_items="CanViewPrivateItems" in flags,
            )
        )
    return tuple(out)


def _words(value: Any) -> list[str]:
    """A multi-valued cmdlet property in any of its serializations, as words."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [w.strip() for w in str(value).strip("{}").split(",") if w.strip()]


__all__ = ["folder_delegates"]
