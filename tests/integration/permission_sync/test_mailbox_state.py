"""What permission sync remembers per mailbox lives in mailbox_sync_state rows: healthy with
its change stamp after a read, attention with the reason when its read failed, no row when
never read; the task-level part stays in sync_state. Rows are written only when they change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tenantsync.engine.permission_sync.state import (
    FEATURE,
    STATE_KEY,
    MailboxRead,
    ReadState,
    load_state,
    save_state,
)
from tenantsync.model.permissions import AclEntry, Right, Trustee
from tenantsync.sandbox import SandboxTenant, generate_tenant
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.mailbox_state import load_mailbox_states
from tenantsync.store.models import (
    Mailbox,
    MailboxKind,
    MailboxState,
    MailboxSyncState,
    SyncState,
)
from tests.integration.permission_sync.harness import Harness
from tests.support.factory import make_org, make_task

T0 = datetime(2026, 1, 1, tzinfo=UTC)
RIGHTS = frozenset({Right.FULL_ACCESS, Right.SEND_AS})
ENTRY = AclEntry(
    "m1@contoso.com", Trustee("Sales", "S-1-5-21-1-2-3-9", None, "g-1"), Right.SEND_AS, deny=True
)


def _store(db: Database, count: int = 3) -> tuple[int, list[int]]:
    with db.session() as session:
        org = make_org(session)
        task = make_task(session, org, "perms", type_=FEATURE)
        mailboxes = [
            Mailbox(
                organization_id=org.id, primary_address=f"m{i}@contoso.com", kind=MailboxKind.USER
            )
            for i in range(count)
        ]
        session.add_all(mailboxes)
        session.flush()
        return task.id, [m.id for m in mailboxes]


def _rows(db: Database, task_id: int) -> dict[int, MailboxSyncState]:
    with db.session() as session:
        rows = session.scalars(select(MailboxSyncState).where(MailboxSyncState.task_id == task_id))
        found = {r.mailbox_id: r for r in rows}
        session.expunge_all()
    return found


def test_what_a_run_remembers_comes_back_as_it_was_saved(db: Database) -> None:
    task, (m1, m2, _m3) = _store(db)
    state = ReadState(
        last_full_at=T0,
        rights=RIGHTS,
        mailboxes={m1: MailboxRead("stamp-1", (ENTRY,)), m2: MailboxRead(None)},
        unresolved=4,
    )
    with db.session() as session:
        save_state(session, task, state)
    with db.session() as session:
        assert load_state(session, task) == state
        task_level = session.get_one(SyncState, (task, STATE_KEY)).value
    assert "mailboxes" not in task_level
    rows = _rows(db, task)
    assert {mid: (r.state, r.watermark, r.feature) for mid, r in rows.items()} == {
        m1: (MailboxState.HEALTHY, "stamp-1", FEATURE),
        m2: (MailboxState.HEALTHY, None, FEATURE),
    }


def test_a_mailbox_whose_read_failed_needs_attention_and_is_read_again(db: Database) -> None:
    task, (m1, m2, m3) = _store(db)
    first = ReadState(last_full_at=T0, rights=RIGHTS, mailboxes={m1: MailboxRead("a")})
    with db.session() as session:
        save_state(session, task, first)
    # The next (incremental) run reads m2 and fails on m1; m3 was never read.
    second = ReadState(last_full_at=T0, rights=RIGHTS, mailboxes={m2: MailboxRead("b")})
    with db.session() as session:
        save_state(session, task, second, {m1: "Exchange: the operation couldn't be found"})
    rows = _rows(db, task)
    assert rows[m1].state is MailboxState.ATTENTION
    assert rows[m1].reason == "Exchange: the operation couldn't be found"
    assert rows[m1].watermark is None
    assert rows[m2].state is MailboxState.HEALTHY
    assert m3 not in rows
    with db.session() as session:
        remembered = load_state(session, task).mailboxes
    assert set(remembered) == {m2}


def test_a_full_read_sets_each_mailboxs_last_reconciliation_an_incremental_one_keeps_it(
    db: Database,
) -> None:
    task, (m1, m2, _m3) = _store(db)
    with db.session() as session:
        save_state(session, task, ReadState(T0, RIGHTS, {m1: MailboxRead("a")}))
    later = ReadState(T0, RIGHTS, {m1: MailboxRead("a2"), m2: MailboxRead("b")})
    with db.session() as session:
        save_state(session, task, later)
    rows = _rows(db, task)
    assert rows[m1].last_full_at == T0 and rows[m1].watermark == "a2"
    assert rows[m2].last_full_at is None  # first read in an incremental run
    full = ReadState(T0 + timedelta(days=1), RIGHTS, later.mailboxes)
    with db.session() as session:
        save_state(session, task, full)
    assert {r.last_full_at for r in _rows(db, task).values()} == {T0 + timedelta(days=1)}


def test_only_changed_rows_are_written_and_forgotten_mailboxes_are_deleted(
    db: Database,
) -> None:
    task, (m1, m2, m3) = _store(db)
    state = ReadState(T0, RIGHTS, {m: MailboxRead(f"s{m}") for m in (m1, m2, m3)})
    with db.session() as session:
        save_state(session, task, state)
    before = {mid: r.updated_at for mid, r in _rows(db, task).items()}
    # m3 left the task's scope; m2 changed.
    again = ReadState(T0, RIGHTS, {m1: MailboxRead(f"s{m1}"), m2: MailboxRead("new")})
    with db.session() as session:
        save_state(session, task, again)
    after = _rows(db, task)
    assert set(after) == {m1, m2}
    assert after[m1].updated_at == before[m1]
    assert after[m2].updated_at > before[m2]


def test_a_state_of_an_older_version_remembers_nothing(db: Database) -> None:
    task, (m1, _m2, _m3) = _store(db)
    with db.session() as session:
        save_state(session, task, ReadState(T0, RIGHTS, {m1: MailboxRead("a")}))
    with db.session() as session:
        row = session.get_one(SyncState, (task, STATE_KEY))
        row.value = {"version": 2, "mailboxes": {str(m1): ["a", []]}}
    with db.session() as session:
        assert load_state(session, task) == ReadState()


@pytest.fixture
def tenant() -> SandboxTenant:
    return generate_tenant(30, seed=5)


def test_a_run_leaves_every_mailbox_it_read_healthy_and_an_unchanged_run_writes_no_row(
    db: Database, settings: Settings, tenant: SandboxTenant
) -> None:
    harness = Harness(db, settings, tenant).setup()
    task = harness.task("perms")
    first = harness.run(task)
    assert first.status == "succeeded", first.error
    with db.session() as session:
        rows = load_mailbox_states(session, task, FEATURE)
    assert len(rows) == first.counts["mailboxes_read"] == len(harness.loaded.mailboxes)
    assert {r.state for r in rows.values()} == {MailboxState.HEALTHY}
    assert all(r.watermark and r.last_full_at for r in rows.values())
    second = harness.run(task)
    assert second.counts["mailboxes_read"] == 0
    with db.session() as session:
        again = load_mailbox_states(session, task, FEATURE)
    assert {m: r.updated_at for m, r in again.items()} == {m: r.updated_at for m, r in rows.items()}
