"""The audit log: every administrative action, who did it, from where, to what."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from tenantsync.store.models import AuditEntry

if TYPE_CHECKING:  # annotations only: importing auth would load FastAPI
    from tenantsync.console.auth import Principal


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
