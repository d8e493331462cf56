"""Runs: list with filters, sorted, paged and exported as CSV; a run with its summary in
words and tabs for its changes (sorted by a column, exported as CSV too), plan, messages
and removals to confirm; the progress of working runs as JSON for the pages' polling
script; apply a preview; confirm or reject a run stopped at the deletion threshold (super
administrators)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import defer

from tenantsync.console.api.schemas import Id, PageNo, PerPage, SearchText
from tenantsync.console.audit import record
from tenantsync.console.auth import DbSession, PageReader, PageSuper, PageWriter
from tenantsync.console.downloads import csv_response
from tenantsync.console.ops import change_log
from tenantsync.console.ops import run_view as view
from tenantsync.console.ops import runs as ops
from tenantsync.console.ops.directory import get_or_404
from tenantsync.console.ops.grant_data import HIDDEN, visible_messages
from tenantsync.console.ops.paging import page_of
from tenantsync.console.ops.progress import progress_of, progress_views
from tenantsync.console.ops.tables import PAGE_SIZES, Sort, page_size, parse_sort
from tenantsync.console.pages.filters import choice, object_id
from tenantsync.console.pages.render import form_data, redirect, render
from tenantsync.store.internal import shown
from tenantsync.store.models import (
    ChangeRecord,
    Organization,
    Run,
    RunStatus,
    ScheduledTask,
    Trigger,
)
from tenantsync.worker import queue

router = APIRouter()
# The summary shows the first few messages, the most severe first; the rest are a tab away.
SUMMARY_MESSAGES = 5
SEVERITY = {"error": 0, "warning": 1, "info": 2}
Form = Annotated[dict[str, str], Depends(form_data)]
F = TypeVar("F")


@dataclass(frozen=True)
class Listing(Generic[F]):
    """What a table's URL asks for: its filter and its sort (the run list and a run's
    changes read the same parameters as their exports)."""

    f: F
    sort: Sort


def run_list_query(
    organization_id: SearchText = "",
    task_id: SearchText = "",
    status: SearchText = "",
    trigger: SearchText = "",
    sort: SearchText = "",
) -> Listing[ops.RunFilter]:
    """The list's filters and sort from the query string (empty or unknown: any)."""
    f = ops.RunFilter(
        object_id(organization_id),
        object_id(task_id),
        choice(RunStatus, status),
        choice(Trigger, trigger),
    )
    return Listing(f, parse_sort(sort, ops.COLUMNS, ops.DEFAULT_SORT))


RunListing = Annotated[Listing[ops.RunFilter], Depends(run_list_query)]


def change_query(
    action: SearchText = "",
    entity: SearchText = "",
    address: SearchText = "",
    sort: SearchText = "",
) -> Listing[view.EntryFilter]:
    """A run page's filter (every tab's) and the changes tab's sort from the query string
    (an unknown sort: the order the changes were made)."""
    f = view.EntryFilter(action.strip(), entity.strip(), address.strip())
    return Listing(f, parse_sort(sort, change_log.COLUMNS, change_log.DEFAULT_SORT))


ChangeListing = Annotated[Listing[view.EntryFilter], Depends(change_query)]


@router.get("/runs", response_class=HTMLResponse)
def runs(
    request: Request,
    db: DbSession,
    me: PageReader,
    listing: RunListing,
    per_page: SearchText = "",
    page: PageNo = 1,
) -> HTMLResponse:
    """Runs with filters by organization, task, status and trigger, sorted by any column;
    every choice stays in the URL."""
    f, order = listing.f, listing.sort
    found = ops.list_runs(db, f, page, page_size(per_page), order)
    working = [r for r in found.items if r.status is RunStatus.RUNNING]
    return render(
        request,
        "runs.html",
        me,
        found=found,
        progress={r.id: progress_of(r.id, r.status, r.progress) for r in working},
        f=f,
        sort=order,
        columns={c.key: c.title for c in ops.COLUMNS},
        page_sizes=PAGE_SIZES,
        statuses=[s.value for s in RunStatus],
        triggers=[t.value for t in Trigger],
        orgs=list(db.scalars(select(Organization).order_by(Organization.name))),
        tasks=list(
            db.scalars(
                select(ScheduledTask).where(shown(ScheduledTask)).order_by(ScheduledTask.name)
            )
        ),
    )


@router.get("/runs.csv", response_class=StreamingResponse)
def export_runs(request: Request, me: PageReader, listing: RunListing) -> StreamingResponse:
    """Every run the list's filters match, in its order, as CSV streamed row by row."""
    f, order = listing.f, listing.sort
    return csv_response(
        request, "runs.csv", ops.EXPORT_HEADER, lambda session: ops.export_runs(session, f, order)
    )


@router.get("/runs/progress")
def progress(db: DbSession, me: PageReader, ids: SearchText = "") -> JSONResponse:
    """The progress of the runs a page shows (``ids``: run ids separated by commas), for
    its polling script."""
    wanted = [i for i in map(object_id, ids.split(",")) if i is not None]
    return JSONResponse({"runs": [p.to_json() for p in progress_views(db, wanted)]})


@router.get("/runs/{run_id}/changes.csv", response_class=StreamingResponse)
def export_changes(
    request: Request, run_id: Id, db: DbSession, me: PageReader, listing: ChangeListing
) -> StreamingResponse:
    """A run's changes the tab's filters match, in its order, one row each with before and
    after as JSON, streamed; delegate grant changes for super administrators only, as on
    the tab."""
    found = ops.existing_run(db, run_id)
    f, order = listing.f, listing.sort
    return csv_response(
        request,
        f"run-{found}-changes.csv",
        change_log.CHANGE_EXPORT_HEADER,
        lambda session: change_log.change_export_rows(session, found, f, me, order),
    )


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    request: Request,
    run_id: Id,
    db: DbSession,
    me: PageReader,
    listing: ChangeListing,
    tab: SearchText = "",
    level: SearchText = "",
    page: PageNo = 1,
    per_page: PerPage = 50,
) -> HTMLResponse:
    """A run: its summary in words, then one tab (changes, sortable by a column; plan;
    messages; removals to confirm), paged and filtered by the database; what names delegate
    grants for super administrators only (others are told it was left out)."""
    run = db.scalars(
        select(Run).where(Run.id == run_id).options(defer(Run.plan), defer(Run.review))
    ).one_or_none()
    if run is None:
        get_or_404(db, Run, run_id, "run")
    assert run is not None
    head = view.plan_head(db, run.id)
    applied = db.scalar(select(ChangeRecord.id).where(ChangeRecord.run_id == run.id).limit(1))
    awaits = ops.stopped_at_threshold(run)
    tabs = ["changes", "plan", "messages"] + (["removals"] if awaits else [])
    default = "removals" if awaits else ("changes" if applied else "plan")
    shown = tab if tab in tabs else default
    f = listing.f
    messages, _ = visible_messages(me, run.task.definition.type, run.messages or [])
    warnings = sum(1 for m in messages if _level(m) == "warning")
    first = sorted(messages, key=lambda m: SEVERITY.get(_level(m), len(SEVERITY)))[
        :SUMMARY_MESSAGES
    ]
    context: dict[str, Any] = {}
    if shown == "changes":
        found = change_log.change_records(db, run.id, f, page, per_page, me, listing.sort)
        context["entries"] = change_log.change_rows(found)
        hides = view.hides_grants(db, run.id, me)
        context["hidden_count"] = ops.hidden_changes(db, run.id, me) if hides else 0
    elif shown == "plan":
        context["entries"] = view.with_fields(view.plan_page(db, run.id, f, page, per_page, me))
        context["hidden_count"] = view.hidden_plan_entries(db, run.id, me)
    elif shown == "messages":
        picked = [m for m in messages if not level or _level(m) == level]
        context["entries"] = page_of(picked, page, per_page)
    else:
        context["entries"] = view.removal_page(db, run, f.address, page, per_page)
    return render(
        request,
        "run.html",
        me,
        run=run,
        head=head,
        words=view.summary_words(head, bool(applied)),
        applied=bool(applied),
        warnings=warnings,
        first_messages=first,
        message_count=len(messages),
        tabs=tabs,
        tab=shown,
        f=f,
        sort=listing.sort,
        columns={c.key: c.title for c in change_log.COLUMNS},
        level=level,
        per_page_choices=view.PER_PAGE_CHOICES,
        hidden=HIDDEN,
        awaits=awaits,
        impact=view.impact(db, run) if awaits else None,
        confirmed_by=db.scalar(select(Run.id).where(Run.confirms_run_id == run.id)),
        progress=progress_of(run.id, run.status, run.progress),
        **context,
    )


def _level(message: object) -> str:
    return str(message.get("level", "info")) if isinstance(message, dict) else "info"


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
    """Confirm the removals of a run stopped at the deletion threshold, once the typed count
    is the number of removals."""
    run = get_or_404(db, Run, run_id, "run")
    new = ops.confirm_run(db, run, me.email, form.get("count"))
    record(db, me, "run.confirm", run.task.name, {"run": run.id, "confirmed_by_run": new.id})
    return redirect(request, f"/runs/{new.id}", f"Removals confirmed: run {new.id} queued")


@router.post("/runs/{run_id}/reject")
def reject(
    request: Request, run_id: Id, db: DbSession, me: PageSuper, form: Form
) -> RedirectResponse:
    """Reject the removals of a run stopped at the deletion threshold: it ends cancelled and
    nothing is removed."""
    run = get_or_404(db, Run, run_id, "run")
    ops.reject_run(db, run, me.email)
    record(db, me, "run.reject", run.task.name, {"run": run.id})
    return redirect(request, f"/runs/{run.id}", "Removals rejected: nothing was removed")


@router.post("/runs/{run_id}/cancel")
def cancel(
    request: Request, run_id: Id, db: DbSession, me: PageWriter, form: Form
) -> RedirectResponse:
    """Cancel a queued run, or ask a running one to stop."""
    get_or_404(db, Run, run_id, "run")
    run = queue.cancel(db, run_id)
    record(db, me, "run.cancel", run.task.name, {"run": run_id})
    return redirect(request, f"/runs/{run_id}", "Cancellation requested")
