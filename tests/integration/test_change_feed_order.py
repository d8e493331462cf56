"""Two transactions that change one organization at once: the second waits for the first's
feed numbers, so the feed gives them in commit order, with no number twice and none
skipped, and nothing of a transaction before it commits."""

from __future__ import annotations

import threading

from sqlalchemy import text

from tenantsync.engine.plan import Change
from tenantsync.store import feed
from tenantsync.store.changes import record_changes
from tenantsync.store.database import Database
from tests.support.factory import make_org


def changes(prefix: str, n: int) -> list[Change]:
    return [Change("add", "mailbox", f"{prefix}{i}@contoso.example") for i in range(n)]


def keys(db: Database, org_id: int, after: int = 0) -> list[str]:
    with db.session() as session:
        page = feed.read(session, org_id, after, 100, grants=True)
    assert isinstance(page, feed.FeedPage)
    return [f"{e.seq}:{e.key.split('@')[0]}" for e in page.events]


def waits_for_a_lock(db: Database) -> bool:
    """Whether another PostgreSQL backend is waiting for a lock (SQLite: cannot tell)."""
    if db.engine.dialect.name != "postgresql":
        return True
    with db.engine.connect() as conn:
        waiting = conn.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
        )
    return bool(waiting)


def test_overlapping_transactions_get_numbers_in_commit_order(db: Database) -> None:
    with db.session() as session:
        org_id = make_org(session).id
        record_changes(session, changes("zero", 1), run_id=None, organization_id=org_id, actor="z")
    done = threading.Event()
    failed: list[BaseException] = []

    def second() -> None:
        try:
            with db.session() as session:
                record_changes(
                    session, changes("second", 2), run_id=None, organization_id=org_id, actor="b"
                )
        except BaseException as exc:  # reported to the test below
            failed.append(exc)
        finally:
            done.set()

    with db.sessions() as first:
        record_changes(first, changes("first", 2), run_id=None, organization_id=org_id, actor="a")
        assert keys(db, org_id) == ["1:zero0"]  # not committed: not in the feed
        thread = threading.Thread(target=second)
        thread.start()
        while not waits_for_a_lock(db) and not done.is_set():
            done.wait(0.01)
        assert not done.is_set()  # the second waits for the first's numbers
        first.commit()
    thread.join()
    assert failed == []
    assert keys(db, org_id) == ["1:zero0", "2:first0", "3:first1", "4:second0", "5:second1"]
    assert keys(db, org_id, after=3) == ["4:second0", "5:second1"]
