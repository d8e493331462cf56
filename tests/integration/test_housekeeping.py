"""Housekeeping purges what has expired, previews without writing, and records what it removed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tenantsync.engine.registry import default_registry
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import (
    ChangeRecord,
    DelegateGrant,
    Mailbox,
    MailboxAlias,
    MailboxKind,
    Right,
    Run,
    RunStatus,
    ScheduledTask,
    Trigger,
)
from tenantsync.timeutil import utcnow
from tenantsync.worker import queue
from tenantsync.worker.runner import Worker
from tests.support.factory import make_org, make_task


def _setup(db: Database) -> int:
    """An organization with one expired, one restorable and one live mailbox and an old run."""
    now = utcnow()
    with db.session() as s:
        org = make_org(s)
        task = make_task(s, org, options={"retention_days": 30})
        expired = Mailbox(
            organization_id=org.id,
            primary_address="gone@contoso.com",
            kind=MailboxKind.USER,
            deleted_at=now - timedelta(days=40),
            restore_until=now - timedelta(days=10),
        )
        restorable = Mailbox(
            organization_id=org.id,
            primary_address="undo@contoso.com",
            kind=MailboxKind.SHARED,
            deleted_at=now - timedelta(days=5),
            restore_until=now + timedelta(days=25),
        )
        live = Mailbox(
            organization_id=org.id, primary_address="live@contoso.com", kind=MailboxKind.USER
        )
        s.add_all([expired, restorable, live])
        s.flush()
        s.add(MailboxAlias(organization_id=org.id, mailbox_id=expired.id, address="g@contoso.com"))
        s.add(
            DelegateGrant(
                organization_id=org.id,
                mailbox_id=expired.id,
                delegate_id=live.id,
                right=Right.FULL_ACCESS,
            )
        )
        old = queue.enqueue(s, task, Trigger.MANUAL)
        old.status = RunStatus.SUCCEEDED
        old.finished_at = now - timedelta(days=45)
        recent = queue.enqueue(s, task, Trigger.MANUAL)
        recent.status = RunStatus.SUCCEEDED
        recent.finished_at = now - timedelta(days=2)
        s.flush()
        s.add(
            ChangeRecord(
                run_id=old.id, organization_id=org.id, actor="t", entity="x", key="k", action="add"
            )
        )
        return task.id


def _run(db: Database, settings: Settings, task_id: int, trigger: Trigger) -> Run:
    with db.session() as s:
        task = s.get_one(ScheduledTask, task_id)
        run_id = queue.enqueue(s, task, trigger).id
    Worker(db, settings, default_registry()).step(run_id)
    with db.sessions() as s:
        return s.get_one(Run, run_id)


def _addresses(db: Database) -> set[str]:
    with db.sessions() as s:
        return set(s.scalars(select(Mailbox.primary_address)))


def test_preview_lists_what_would_go_and_removes_nothing(db: Database, settings: Settings) -> None:
    task_id = _setup(db)
    run = _run(db, settings, task_id, Trigger.PREVIEW)
    assert run.status == RunStatus.SUCCEEDED
    assert run.counts == {"mailboxes_purged": 1, "runs_purged": 1}
    assert [c["key"] for c in run.plan["changes"] if c["entity"] == "mailbox"] == [
        "gone@contoso.com"
    ]
    assert _addresses(db) == {"gone@contoso.com", "undo@contoso.com", "live@contoso.com"}


def test_apply_purges_expired_mailboxes_and_old_runs_and_records_it(
    db: Database, settings: Settings
) -> None:
    task_id = _setup(db)
    run = _run(db, settings, task_id, Trigger.MANUAL)
    assert run.status == RunStatus.SUCCEEDED
    assert _addresses(db) == {"undo@contoso.com", "live@contoso.com"}
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(MailboxAlias)) == 0
        assert s.scalar(select(func.count()).select_from(DelegateGrant)) == 0
        # The old run went with its change log; the recent one and this one stay.
        assert s.scalar(select(func.count()).select_from(Run)) == 2
        records = s.scalars(select(ChangeRecord).where(ChangeRecord.run_id == run.id)).all()
    assert sorted((r.entity, r.action) for r in records) == [
        ("mailbox", "purge"),
        ("run", "purge"),
    ]
    # Nothing left to do: a second run purges nothing.
    again = _run(db, settings, task_id, Trigger.MANUAL)
    assert again.counts == {"mailboxes_purged": 0, "runs_purged": 0}
