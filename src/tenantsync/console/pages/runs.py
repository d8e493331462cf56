"""Runs: list with filters; a run with counts, messages, its plan by action and the change log;
apply a preview; confirm a run stopped at the deletion threshold (super administrators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from tenantsync.console.api.schemas import Id, PageNo, SearchText
from tenantsync.console.audit import record
from tenantsync.console.auth import DbSession, PageReader, PageSuper, PageWriter
from tenantsync.console.ops import runs as ops
from tenantsync.console.ops.directory import get_or_404
from tenantsync.console.ops.grant_data import HIDDEN, visible_messages
from tenantsync.console.pages.filters import choice, object_id
from tenantsync.console.pages.render import form_data, redirect, render
from tenantsync.store.internal import shown
from tenantsync.store.models import Organization, Run, RunStatus, ScheduledTask, Trigger
from tenantsync.worker import queue

router = APIRouter()
Form = Annotated[dict[str, str], Depends(form_data)]


@router.get("/runs", response_class=HTMLResponse)
def runs(
    request: Request,
    db: DbSession,
    me: PageReader,
    organization_id: SearchText = "",
    task_id: SearchText = "",
    status: SearchText = "",
    trigger: SearchText = "",
    page: PageNo = 1,
) -> HTMLResponse:
    """Runs with filters by organization, task, status and trigger."""
    f = ops.RunFilter(
        object_id(organization_id),
        object_id(task_id),
        choice(RunStatus, status),
        choice(Trigger, trigger),
    )
    found = ops.list_runs(db, f, page, 50)
    return render(
        request,
        "runs.html",
        me,
        found=found,
        f=f,
        statuses=[s.value for s in RunStatus],
        triggers=[t.value for t in Trigger],
        orgs=list(db.scalars(select(Organization).order_by(Organization.name))),
        tasks=list(
            db.scalars(
                select(ScheduledTask).where(shown(ScheduledTask)).order_by(ScheduledTask.name)
            )
        ),
    )


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    request: Request, run_id: Id, db: DbSession, me: PageReader, page: PageNo = 1
) -> HTMLResponse:
    """A run: counts, messages, its plan by action, the paged change log (what names
    delegate grants for super administrators only; others are told it was left out)."""
    run = get_or_404(db, Run, run_id, "run")
    messages, _ = visible_messages(me, run.task.definition.type, run.messages or [])
    return render(
        request,
        "run.html",
        me,
        run=run,
        messages=messages,
        groups=ops.plan_groups(run.plan, me),
        changes=ops.change_log(db, run.id, page, 100, me),
        hidden_changes=ops.hidden_changes(db, run.id, me),
        hidden=HIDDEN,
        awaits=ops.stopped_at_threshold(run),
        confirmed_by=db.scalar(select(Run.id).where(Run.confirms_run_id == run.id)),
        refresh=not run.status.finished,
    )


@router.post("/runs/{run_id}/apply")
def apply_preview(
    request: Request, run_id: Id, db: DbSession, me: PageWriter, form: Form
) -> RedirectResponse:
    """Run the previewed task for real (it plans again against the source of now)."""
    run = get_or_404(db, Run, run_id, "run")
    new = ops.start_run(db, run.task, Trigger.MANUAL, me.email)
    record(db, me, "task.run", run.task.name, {"run": new.id, "from_preview": run.id})
    return redirect(request, f"/runs/{new.id}", f"Run {new.id} queued")


@router.post("/runs/{run_id}/confirm")
def confirm(
    request: Request, run_id: Id, db: DbSession, me: PageSuper, form: Form
) -> RedirectResponse:
    """Confirm the removals of a run stopped at the deletion threshold."""
    run = get_or_404(db, Run, run_id, "run")
    new = ops.confirm_run(db, run, me.email)
    record(db, me, "run.confirm", run.task.name, {"run": run.id, "confirmed_by_run": new.id})
    return redirect(request, f"/runs/{new.id}", f"Removals confirmed: run {new.id} queued")


@router.post("/runs/{run_id}/cancel")
def cancel(
    request: Request, run_id: Id, db: DbSession, me: PageWriter, form: Form
) -> RedirectResponse:
    """Cancel a queued run, or ask a running one to stop."""
    get_or_404(db, Run, run_id, "run")
    run = queue.cancel(db, run_id)
    record(db, me, "run.cancel", run.task.name, {"run": run_id})
    return redirect(request, f"/runs/{run_id}", "Cancellation requested")
