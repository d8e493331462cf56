"""What a run keeps for the pipeline: a stop awaiting confirmation with its reason and the
removals to confirm, a report, when a re-queued run may start, and one entry per attempt."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from tenantsync.store.database import Database
from tenantsync.store.models import Run, RunStatus, Trigger
from tenantsync.timeutil import utcnow
from tests.support.factory import make_org, make_task


def test_a_run_keeps_its_stop_review_report_and_attempts(db: Database) -> None:
    later = utcnow() + timedelta(minutes=5)
    with db.session() as session:
        task = make_task(session, make_org(session), "users", type_="user_sync")
        run = Run(
            task_id=task.id,
            trigger=Trigger.MANUAL,
            status=RunStatus.AWAITING_CONFIRMATION,
            stop_reason="this run would remove 600 mailboxes (more than 500)",
            review={"removals": ["mailbox:a@contoso.com", "mailbox:b@contoso.com"]},
            report={"batches": [["a@contoso.com", "b@contoso.com"]]},
            not_before=later,
            attempt_log=[{"attempt": 1, "error": "Graph: HTTP 503"}],
        )
        session.add(run)
        session.flush()
        run_id = run.id
    with db.session() as session:
        again = session.get_one(Run, run_id)
        assert again.status is RunStatus.AWAITING_CONFIRMATION and again.status.finished
        assert again.stop_reason == "this run would remove 600 mailboxes (more than 500)"
        assert again.review == {"removals": ["mailbox:a@contoso.com", "mailbox:b@contoso.com"]}
        assert again.report == {"batches": [["a@contoso.com", "b@contoso.com"]]}
        assert again.not_before is not None
        assert abs((again.not_before - later).total_seconds()) < 1
        assert again.attempt_log == [{"attempt": 1, "error": "Graph: HTTP 503"}]


def test_a_run_written_without_attempts_has_an_empty_attempt_log(db: Database) -> None:
    with db.session() as session:
        task = make_task(session, make_org(session), "users", type_="user_sync")
        orm_run = Run(task_id=task.id, trigger=Trigger.MANUAL)
        session.add(orm_run)
        session.flush()
        # A row written by SQL that does not know the column (an older worker's statement).
        session.execute(
            text(
                "INSERT INTO run (task_id, trigger, status, created_at, attempts, retried, "
                "cancel_requested, confirm_removals, counts, messages) VALUES "
                "(:task, 'manual', 'queued', :now, 0, false, false, false, '{}', '[]')"
            ),
            {"task": task.id, "now": utcnow()},
        )
    with db.session() as session:
        runs = session.scalars(select(Run).order_by(Run.id)).all()
        logs = [r.attempt_log for r in runs]
        stops = [(r.stop_reason, r.review, r.report, r.not_before) for r in runs]
    assert logs == [[], []]
    assert stops == [(None, None, None, None)] * 2
