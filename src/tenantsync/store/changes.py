"""Change records: every change a run or a person makes, written in bulk."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from tenantsync.store.bulk import insert_chunked
from tenantsync.store.models import ChangeRecord
from tenantsync.timeutil import utcnow

if TYPE_CHECKING:
    from tenantsync.engine.plan import Change
    from tenantsync.engine.run import RunContext

# Rows per INSERT: large enough for few round trips, small enough that a run with a
# hundred thousand changes never holds all its rows as parameters at once.
CHUNK = 5000
_TABLE = cast(Table, ChangeRecord.__table__)


def record_changes(session: Session, ctx: RunContext, changes: Iterable[Change]) -> None:
    """Record ``changes`` against the run of ``ctx`` in bulk inserts of ``CHUNK`` rows."""
    now = utcnow()
    rows = (
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
    )
    insert_chunked(session, _TABLE, rows, CHUNK)
