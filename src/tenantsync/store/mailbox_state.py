"""Per-mailbox sync state of a task: loaded and saved in bulk, only changed rows written.

A task's feature keeps one row per mailbox it works on (``mailbox_sync_state``): a
watermark or delta link, the last full reconciliation, a state with its reason, and the
feature's own ``data``. A mailbox with no row was never worked on (pending).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.orm import Session

from tenantsync.store.bulk import chunks, insert_chunked
from tenantsync.store.models import Mailbox, MailboxState, MailboxSyncState
from tenantsync.timeutil import utcnow

_TABLE = cast(Table, MailboxSyncState.__table__)
_COMPARED = ("state", "watermark", "delta_link", "last_full_at", "reason", "data")


@dataclass(frozen=True)
class MailboxStateRow:
    """One mailbox's state for a task's feature, as plain data."""

    state: MailboxState = MailboxState.PENDING
    watermark: str | None = None
    delta_link: str | None = None
    last_full_at: datetime | None = None
    reason: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = field(default=None, compare=False)


def load_mailbox_states(session: Session, task_id: int, feature: str) -> dict[int, MailboxStateRow]:
    """Every mailbox row of the task's ``feature``, by mailbox id."""
    rows = session.execute(
        select(
            MailboxSyncState.mailbox_id,
            MailboxSyncState.state,
            MailboxSyncState.watermark,
            MailboxSyncState.delta_link,
            MailboxSyncState.last_full_at,
            MailboxSyncState.reason,
            MailboxSyncState.data,
            MailboxSyncState.updated_at,
        ).where(MailboxSyncState.task_id == task_id, MailboxSyncState.feature == feature)
    )
    return {
        mid: MailboxStateRow(
            MailboxState(state.value), watermark, delta, last_full, reason, dict(data or {}), at
        )
        for mid, state, watermark, delta, last_full, reason, data, at in rows
    }


def save_mailbox_states(
    session: Session,
    task_id: int,
    feature: str,
    states: Mapping[int, MailboxStateRow],
    *,
    stored: Mapping[int, MailboxStateRow] | None = None,
) -> int:
    """Make the task's rows those of ``states`` (rows of other mailboxes, and of another
    feature the task ran before, are deleted); the rows written or deleted.

    ``stored`` is what :func:`load_mailbox_states` gave in this transaction, to spare a
    second read. Only new and changed rows are written, so an incremental run's cost
    follows its changes.
    """
    session.execute(
        delete(MailboxSyncState).where(
            MailboxSyncState.task_id == task_id, MailboxSyncState.feature != feature
        )
    )
    if stored is None:
        stored = load_mailbox_states(session, task_id, feature)
    now = utcnow()
    # A mailbox purged while the run worked (the restore window ended) gets no row.
    live = _live(session, [mid for mid in states if mid not in stored])
    new = (
        {"task_id": task_id, "mailbox_id": mid, "feature": feature, "updated_at": now}
        | _values(states[mid])
        for mid in live
    )
    written = insert_chunked(session, _TABLE, new)
    changed = [
        {"task_id": task_id, "mailbox_id": mid, "updated_at": now} | _values(row)
        for mid, row in states.items()
        if mid in stored and stored[mid] != row
    ]
    for part in chunks(changed):
        session.execute(update(MailboxSyncState), part)
    gone = sorted(set(stored) - set(states))
    for batch in chunks(gone):
        session.execute(
            delete(MailboxSyncState).where(
                MailboxSyncState.task_id == task_id, MailboxSyncState.mailbox_id.in_(batch)
            )
        )
    return written + len(changed) + len(gone)


def _live(session: Session, mailbox_ids: list[int]) -> list[int]:
    """Those of ``mailbox_ids`` that are still in the store, in their order."""
    found: set[int] = set()
    for batch in chunks(sorted(mailbox_ids)):
        found.update(session.scalars(select(Mailbox.id).where(Mailbox.id.in_(batch))))
    return [mid for mid in mailbox_ids if mid in found]


def _values(row: MailboxStateRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in _COMPARED}
