"""Change records: every change a run or a person makes, written in bulk."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import insert
from sqlalchemy.orm import Session

from tenantsync.store.models import ChangeRecord
from tenantsync.timeutil import utcnow

if TYPE_CHECKING:
    from tenantsync.engine.plan import Change
    from tenantsync.worker.context import RunContext


def record_changes(session: Session, ctx: RunContext, changes: Iterable[Change]) -> None:
    """Record ``changes`` against the run of ``ctx`` in one bulk insert."""
    now = utcnow()
    rows = [
        {
            "run_id": ctx.run_id,
            "organization_id": ctx.task.organization_id,
            "at": now,
            "actor": ctx.actor,
            "entity": c.entity,
            "key": c.key,
            "action": c.action,
            "before": c.before,
            "after": c.after,
        }
        for c in changes
    ]
    if rows:
        session.execute(insert(ChangeRecord), rows)
