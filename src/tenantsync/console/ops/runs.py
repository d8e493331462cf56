"""Runs: run now, preview, confirm a stopped run, lists, plans grouped by action, the dashboard."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from tenantsync.console.ops.grant_data import GRANT_ENTITY, hides_change, sees_grants
from tenantsync.console.ops.paging import Page, paginate
from tenantsync.console.ops.run_view import removal_count
from tenantsync.console.ops.tables import EXPORT_BATCH, AnySelect, Column, Sort, ordered
from tenantsync.errors import ConfigError, NotFound
from tenantsync.store.elapsed import seconds_between
from tenantsync.store.internal import shown
from tenantsync.store.models import (
    ChangeRecord,
    Mailbox,
    MailboxKind,
    Organization,
    Run,
    RunStatus,
    ScheduledTask,
    Trigger,
)
from tenantsync.worker import queue

if TYPE_CHECKING:  # annotations only: importing auth would load FastAPI
    from tenantsync.console.auth import Principal


# A run's plan, removal keys and report can be large documents: lists never load them.
WITHOUT_DOCUMENTS = (defer(Run.plan), defer(Run.review), defer(Run.report))


def start_run(
    session: Session,
    task: ScheduledTask,
    trigger: Trigger,
    requested_by: str,
    *,
    full_read: bool = False,
) -> Run:
    """Queue a manual run or a preview of a task (``full_read``: reading its source in full)."""
    return queue.enqueue(session, task, trigger, requested_by=requested_by, full_read=full_read)


def existing_run(session: Session, run_id: int) -> int:
    """``run_id`` if that run exists (its documents not read), NotFound otherwise."""
    found = session.scalar(select(Run.id).where(Run.id == run_id))
    if found is None:
        raise NotFound(f"no run {run_id}")
    return found


def stopped_at_threshold(run: Run) -> bool:
    """Whether a run stopped at the removal threshold and waits for confirmation."""
    return run.status is RunStatus.AWAITING_CONFIRMATION


def confirm_run(session: Session, run: Run, requested_by: str, typed: str | int | None) -> Run:
    """Queue the run that confirms a threshold stop (see :func:`queue.confirm`), once the
    count the administrator typed is the number of removals it confirms."""
    expected = removal_count(session, run)
    if str(typed if typed is not None else "").strip() != str(expected):
        raise ConfigError(
            f"type the number of removals, {expected}, to confirm them "
            f"(typed {str(typed or '').strip() or 'nothing'}); nothing was confirmed",
            field="count",
        )
    return queue.confirm(session, run, requested_by)


def reject_run(session: Session, run: Run, rejected_by: str) -> Run:
    """End a threshold stop cancelled, nothing removed (see :func:`queue.reject`)."""
    return queue.reject(session, run, rejected_by)


@dataclass(frozen=True)
class RunFilter:
    """How the run list is narrowed."""

    organization_id: int | None = None
    task_id: int | None = None
    status: RunStatus | None = None
    trigger: Trigger | None = None


COLUMNS = (
    Column("run", "Run", Run.id),
    Column("task", "Task", ScheduledTask.name),
    Column("trigger", "Trigger", Run.trigger),
    Column("status", "Status", Run.status),
    Column("queued", "Queued", Run.created_at),
    # Runs not started or not finished have no time (nor a duration): last whichever way
    # the list sorts, on SQLite (NULL first going up) as on PostgreSQL (NULL last going up).
    Column("started", "Started", Run.started_at, nulls_last=True),
    Column("finished", "Finished", Run.finished_at, nulls_last=True),
    Column(
        "duration", "Duration", seconds_between(Run.started_at, Run.finished_at), nulls_last=True
    ),
    Column("by", "By", func.coalesce(Run.requested_by, "")),
)
# Newest first, as the list always was.
DEFAULT_SORT = Sort("run", descending=True)
EXPORT_HEADER = (
    "run",
    "task",
    "organization",
    "trigger",
    "status",
    "queued",
    "started",
    "finished",
    "duration_seconds",
    "requested_by",
    "error",
)


def _filtered_runs(stmt: AnySelect, f: RunFilter, joined: bool) -> AnySelect:
    if joined or f.organization_id is not None:
        stmt = stmt.join(ScheduledTask, ScheduledTask.id == Run.task_id)
    if f.organization_id is not None:
        stmt = stmt.where(ScheduledTask.organization_id == f.organization_id)
    if f.task_id is not None:
        stmt = stmt.where(Run.task_id == f.task_id)
    if f.status is not None:
        stmt = stmt.where(Run.status == f.status)
    if f.trigger is not None:
        stmt = stmt.where(Run.trigger == f.trigger)
    return stmt


def list_runs(
    session: Session, f: RunFilter, page: int, per_page: int, sort: Sort = DEFAULT_SORT
) -> Page[Run]:
    """Runs matching the filter, sorted by a column then by id (newest first by default)."""
    stmt = _filtered_runs(select(Run).options(*WITHOUT_DOCUMENTS), f, joined=sort.key == "task")
    return paginate(session, ordered(stmt, sort, COLUMNS, Run.id), page, per_page)


def export_runs(session: Session, f: RunFilter, sort: Sort) -> Iterator[tuple[object, ...]]:
    """Every run matching ``f`` in the list's order, as CSV rows (:data:`EXPORT_HEADER`),
    streamed from the database a batch at a time (the runs' documents never read)."""
    stmt = select(
        Run.id,
        ScheduledTask.name,
        Organization.name,
        Run.trigger,
        Run.status,
        Run.created_at,
        Run.started_at,
        Run.finished_at,
        Run.requested_by,
        Run.error,
    )
    stmt = _filtered_runs(stmt, f, joined=True).outerjoin(
        Organization, Organization.id == ScheduledTask.organization_id
    )
    stmt = ordered(stmt, sort, COLUMNS, Run.id)
    result: Iterable[tuple[Any, ...]] = session.execute(
        stmt.execution_options(yield_per=EXPORT_BATCH)
    )
    for run_id, task, org, trigger, status, queued, started, finished, by, error in result:
        took = (finished - started).total_seconds() if started and finished else None
        yield (
            run_id,
            task,
            org or "",
            trigger.value,
            status.value,
            _iso(queued),
            _iso(started),
            _iso(finished),
            "" if took is None else f"{took:.0f}",
            by or "",
            error or "",
        )


def _iso(value: datetime | None) -> str:
    return "" if value is None else value.isoformat(timespec="seconds")


def hidden_changes(session: Session, run_id: int, viewer: Principal) -> int:
    """How many change records of a run are left out for ``viewer`` (grant changes)."""
    if sees_grants(viewer):
        return 0
    stmt = select(func.count()).where(
        ChangeRecord.run_id == run_id, ChangeRecord.entity == GRANT_ENTITY
    )
    return session.scalar(stmt) or 0


@dataclass
class PlanGroup:
    """The changes of one action in a plan; ``hidden`` of them left out for the viewer."""

    action: str
    count: int
    changes: list[dict[str, Any]] = field(default_factory=list)
    hidden: int = 0


def plan_groups(plan: dict[str, Any] | None, viewer: Principal) -> list[PlanGroup]:
    """A stored plan grouped by action, with the count of each action; the entries
    ``viewer`` may not see are counted, not listed."""
    if not plan:
        return []
    totals: dict[str, int] = defaultdict(int)
    for key, count in (plan.get("counts") or {}).items():
        _, _, action = str(key).rpartition(".")
        totals[action] += int(count)
    groups: dict[str, PlanGroup] = {}
    for change in plan.get("changes") or []:
        action = str(change.get("action", "?"))
        group = groups.setdefault(action, PlanGroup(action, totals.get(action, 0)))
        if hides_change(viewer, change.get("entity")):
            group.hidden += 1
        else:
            group.changes.append(change)
    for action, count in totals.items():
        groups.setdefault(action, PlanGroup(action, count))
    for group in groups.values():
        group.count = max(group.count, len(group.changes) + group.hidden)
    return sorted(groups.values(), key=lambda g: g.action)


@dataclass(frozen=True)
class TaskHealth:
    """One dashboard row: a task, its last run, its next run, its last failure."""

    task_id: int
    task: str
    organization: str
    enabled: bool
    last_run_id: int | None
    last_status: str | None
    last_run_at: datetime | None
    next_run_at: datetime | None
    last_failure_at: datetime | None
    last_failure: str | None


def dashboard(session: Session) -> tuple[list[TaskHealth], dict[str, Any]]:
    """Every task's health, and mailbox counts by kind and billable."""
    last_ids = (
        select(func.max(Run.id).label("id"))
        .where(Run.trigger != Trigger.PREVIEW)
        .group_by(Run.task_id)
        .subquery()
    )
    last = {
        r.task_id: r
        for r in session.scalars(
            select(Run).options(*WITHOUT_DOCUMENTS).where(Run.id.in_(select(last_ids.c.id)))
        )
    }
    fail_ids = (
        select(func.max(Run.id).label("id"))
        .where(Run.status == RunStatus.FAILED)
        .group_by(Run.task_id)
        .subquery()
    )
    failed = {
        r.task_id: r
        for r in session.scalars(
            select(Run).options(*WITHOUT_DOCUMENTS).where(Run.id.in_(select(fail_ids.c.id)))
        )
    }
    rows = []
    tasks = session.execute(
        select(ScheduledTask, Organization.name)
        .join(Organization, Organization.id == ScheduledTask.organization_id)
        .where(shown(ScheduledTask))
        .order_by(Organization.name, ScheduledTask.name)
    ).all()
    for task, org_name in tasks:
        run = last.get(task.id)
        fail = failed.get(task.id)
        rows.append(
            TaskHealth(
                task_id=task.id,
                task=task.name,
                organization=org_name,
                enabled=task.enabled,
                last_run_id=run.id if run else None,
                last_status=run.status.value if run else None,
                last_run_at=(run.finished_at or run.started_at or run.created_at) if run else None,
                next_run_at=task.next_due_at if task.enabled else None,
                last_failure_at=(fail.finished_at or fail.created_at) if fail else None,
                last_failure=fail.error if fail else None,
            )
        )
    return rows, mailbox_counts(session)


def mailbox_counts(session: Session, org_id: int | None = None) -> dict[str, Any]:
    """Live mailboxes by kind, and how many bill."""
    base = select(Mailbox.kind, func.count()).where(Mailbox.deleted_at.is_(None))
    billable = select(func.count()).select_from(Mailbox).where(Mailbox.billable)
    if org_id is not None:
        base = base.where(Mailbox.organization_id == org_id)
        billable = billable.where(Mailbox.organization_id == org_id)
    by_kind = {k.value: 0 for k in MailboxKind}
    for kind, count in session.execute(base.group_by(Mailbox.kind)):
        by_kind[kind.value] = count
    total = sum(by_kind.values())
    bills = session.scalar(billable) or 0
    return {"by_kind": by_kind, "total": total, "billable": bills, "non_billable": total - bills}
