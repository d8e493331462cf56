"""The audit log: every administrative action, who did it, from where, to what."""

from __future__ import annotations

import getpass
import os
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from tenantsync.store.models import AuditEntry

if TYPE_CHECKING:  # annotations only: importing auth would load FastAPI
    from tenantsync.console.auth import Principal

# Who the log names for a command run on the command line (the detail names the
# operating-system account that ran it).
CLI_ACTOR = "cli"


def record(
    session: Session,
    principal: Principal | None,
    action: str,
    target: str = "",
    detail: dict[str, Any] | None = None,
    *,
    actor: str | None = None,
    address: str | None = None,
) -> None:
    """Add one audit entry (never with secret values in ``detail``)."""
    session.add(
        AuditEntry(
            actor=actor or (principal.email if principal else "anonymous"),
            action=action,
            target=target[:1024],
            detail=detail or {},
            address=address or (principal.address if principal else None),
        )
    )


def record_cli(
    session: Session, action: str, target: str = "", detail: dict[str, Any] | None = None
) -> None:
    """Add the audit entry of a command run on the command line."""
    record(session, None, action, target, {**(detail or {}), "user": os_user()}, actor=CLI_ACTOR)


def os_user() -> str:
    """The operating-system account running this process."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for the uid (a container's anonymous user)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
