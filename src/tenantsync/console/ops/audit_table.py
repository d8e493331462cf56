"""The audit log as a table: sorted by a column, and exported as CSV with the grants of
delegate actions left out for viewers who may not see grant data (``grant_data``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.console.ops.grant_data import HIDDEN, is_grant_audit, sees_grants
from tenantsync.console.ops.paging import Page, paginate
from tenantsync.console.ops.tables import EXPORT_BATCH, AnySelect, Column, Sort, ordered
from tenantsync.store.models import AuditEntry

if TYPE_CHECKING:  # annotations only: importing auth would load FastAPI
    from tenantsync.console.auth import Principal

COLUMNS = (
    Column("at", "At", AuditEntry.at),
    Column("actor", "Who", AuditEntry.actor),
    Column("address", "From", AuditEntry.address),
    Column("action", "Action", AuditEntry.action),
    Column("target", "Target", AuditEntry.target),
)
DEFAULT_SORT = Sort("at", descending=True)
EXPORT_HEADER = ("at", "actor", "from", "action", "target", "detail")


def _select(actor: str, action: str) -> AnySelect:
    stmt = select(AuditEntry)
    if actor.strip():
        stmt = stmt.where(AuditEntry.actor.ilike(f"%{actor.strip()}%"))
    if action.strip():
        stmt = stmt.where(AuditEntry.action.ilike(f"{action.strip()}%"))
    return stmt


def audit_log(
    session: Session, page: int, per_page: int, actor: str, action: str, sort: Sort
) -> Page[AuditEntry]:
    """Audit entries filtered by actor and action prefix, sorted by a column (then id)."""
    stmt = ordered(_select(actor, action), sort, COLUMNS, AuditEntry.id)
    return paginate(session, stmt, page, per_page)


def export_rows(
    session: Session, viewer: Principal, actor: str, action: str, sort: Sort
) -> Iterator[tuple[object, ...]]:
    """The filtered log in the table's order as CSV rows; a delegate action's target and
    detail are left out (named so) for a viewer who may not see grant data."""
    stmt = ordered(_select(actor, action), sort, COLUMNS, AuditEntry.id)
    grants = sees_grants(viewer)
    for e in session.scalars(stmt.execution_options(yield_per=EXPORT_BATCH)):
        at = e.at.isoformat(timespec="seconds")
        if not grants and is_grant_audit(e.action):
            yield (at, e.actor, e.address or "", e.action, "", HIDDEN)
        else:
            detail = json.dumps(e.detail, ensure_ascii=False, sort_keys=True) if e.detail else ""
            yield (at, e.actor, e.address or "", e.action, e.target, detail)
