"""Runs: list with filters and a sort, a run with its plan, the change log, each list also as
CSV streamed as the pages export it (the same role rules), confirm, cancel; the dashboard."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from tenantsync.console.api.schemas import (
    ChangeLogOut,
    ChangeOut,
    ConfirmIn,
    DashboardOut,
    Id,
    PageNo,
    PageOut,
    PerPage,
    PlanGroupOut,
    QueryId,
    RunDetail,
    RunOut,
    SearchText,
    TaskHealthOut,
)
from tenantsync.console.audit import record
from tenantsync.console.auth import DbSession, Reader, Super, Writer
from tenantsync.console.downloads import CSV_RESPONSE, csv_response
from tenantsync.console.ops import change_log
from tenantsync.console.ops import run_view as view
from tenantsync.console.ops import runs as ops
from tenantsync.console.ops.directory import get_or_404
from tenantsync.console.ops.grant_data import visible_messages
from tenantsync.console.ops.progress import progress_views
from tenantsync.console.ops.tables import Sort, parse_sort
from tenantsync.store.models import Run, RunStatus, Trigger
from tenantsync.worker import queue

router = APIRouter(tags=["runs"])


def narrowed(
    action: SearchText = "", entity: SearchText = "", address: SearchText = ""
) -> view.EntryFilter:
    """Changes or plan entries of one action and entity whose address contains a text."""
    return view.EntryFilter(action.strip(), entity.strip(), address.strip())


Narrowed = Annotated[view.EntryFilter, Depends(narrowed)]


def run_filter(
    organization_id: QueryId | None = None,
    task_id: QueryId | None = None,
    status: RunStatus | None = None,
    trigger: Trigger | None = None,
) -> ops.RunFilter:
    """Runs of one organization, task, status and trigger."""
    return ops.RunFilter(organization_id, task_id, status, trigger)


RunFiltered = Annotated[ops.RunFilter, Depends(run_filter)]


def run_sort(sort: SearchText = "") -> Sort:
    """The run list's column, ``-`` first for descending (newest first if none)."""
    return parse_sort(sort, ops.COLUMNS, ops.DEFAULT_SORT)


def change_sort(sort: SearchText = "") -> Sort:
    """The change log's column, ``-`` first for descending (the order applied if none)."""
    return parse_sort(sort, change_log.COLUMNS, change_log.DEFAULT_SORT)


RunSort = Annotated[Sort, Depends(run_sort)]
ChangeSort = Annotated[Sort, Depends(change_sort)]


@router.get("/dashboard", response_model=DashboardOut)
def dashboard(db: DbSession, who: Reader) -> DashboardOut:
    """Every task's last status, last and next run, last failure; mailbox counts."""
    rows, counts = ops.dashboard(db)
    return DashboardOut(tasks=[TaskHealthOut.model_validate(r) for r in rows], mailboxes=counts)


@router.get("/runs", response_model=PageOut[RunOut])
def list_runs(
    db: DbSession,
    who: Reader,
    f: RunFiltered,
    order: RunSort,
    page: PageNo = 1,
    per_page: PerPage = 50,
) -> PageOut[RunOut]:
    """Runs, newest first; ``sort`` names a column (run, task, trigger, status, queued,
    started, finished, duration, by), ``-`` first for descending (the id breaks ties; runs
    not finished come last by duration either way)."""
    return PageOut.of(ops.list_runs(db, f, page, per_page, order), RunOut.model_validate)


@router.get("/runs.csv", response_class=StreamingResponse, responses=CSV_RESPONSE)
def export_runs(request: Request, who: Reader, f: RunFiltered, order: RunSort) -> StreamingResponse:
    """Every run the filters match, in the list's order (``sort`` as for the list), as CSV
    streamed row by row: the console's runs export."""
    return csv_response(
        request, "runs.csv", ops.EXPORT_HEADER, lambda session: ops.export_runs(session, f, order)
    )


@router.get("/runs/{run_id}", response_model=RunDetail)
def get_run(run_id: Id, db: DbSession, who: Reader) -> RunDetail:
    """A run with counts, messages and its plan grouped by action (messages and entries that
    name delegate grants only for super administrators; others get the counts)."""
    run = get_or_404(db, Run, run_id, "run")
    base = RunOut.model_validate(run).model_dump()
    messages, hidden = visible_messages(who, run.task.definition.type, run.messages or [])
    groups = ops.plan_groups(run.plan, who)
    return RunDetail(
        **base,
        messages=messages,
        progress=run.progress,
        plan_total=(run.plan or {}).get("total"),
        plan=[
            PlanGroupOut(action=g.action, count=g.count, changes=g.changes, hidden=g.hidden)
            for g in groups
        ],
        awaits_confirmation=ops.stopped_at_threshold(run),
        stop_reason=run.stop_reason,
        attempt_log=list(run.attempt_log or []),
        grant_details_hidden=bool(hidden or any(g.hidden for g in groups)),
    )


@router.get("/runs/{run_id}/changes", response_model=ChangeLogOut)
def run_changes(
    run_id: Id,
    db: DbSession,
    who: Reader,
    f: Narrowed,
    order: ChangeSort,
    page: PageNo = 1,
    per_page: PerPage = 100,
) -> ChangeLogOut:
    """The change log of a run, in the order applied or by ``sort`` (order, action, entity,
    address; ``-`` first for descending), narrowed by action, entity and a piece of the
    address (changes of delegate grants only for super administrators; ``hidden`` counts
    them for others)."""
    ops.existing_run(db, run_id)
    found = change_log.change_records(db, run_id, f, page, per_page, who, order)
    return ChangeLogOut(
        items=[ChangeOut.model_validate(c) for c in found.items],
        total=found.total,
        page=found.page,
        per_page=found.per_page,
        hidden=ops.hidden_changes(db, run_id, who) if view.hides_grants(db, run_id, who) else 0,
    )


@router.get("/runs/{run_id}/changes.csv", response_class=StreamingResponse, responses=CSV_RESPONSE)
def export_changes(
    request: Request, run_id: Id, db: DbSession, who: Reader, f: Narrowed, order: ChangeSort
) -> StreamingResponse:
    """The change log of a run as CSV (the run page's export): the filters and ``sort`` as
    for the change log, one row a change with before and after as JSON, streamed; changes
    of delegate grants only for super administrators."""
    found = ops.existing_run(db, run_id)
    return csv_response(
        request,
        f"run-{found}-changes.csv",
        change_log.CHANGE_EXPORT_HEADER,
        lambda session: change_log.change_export_rows(session, found, f, who, order),
    )


@router.get("/runs/{run_id}/plan", response_model=PageOut[dict[str, Any]])
def run_plan(
    run_id: Id,
    db: DbSession,
    who: Reader,
    f: Narrowed,
    page: PageNo = 1,
    per_page: PerPage = 100,
) -> PageOut[dict[str, Any]]:
    """The entries a run's plan keeps, paged and narrowed like its changes (entries of
    delegate grants only for super administrators)."""
    get_or_404(db, Run, run_id, "run")
    return PageOut.of(view.plan_page(db, run_id, f, page, per_page, who), lambda item: item)


@router.get("/runs/{run_id}/progress")
def run_progress(run_id: Id, db: DbSession, who: Reader) -> dict[str, Any]:
    """A run's stage, n of N, rate and seconds left while it works (its status once over)."""
    found = progress_views(db, [run_id])
    if not found:
        get_or_404(db, Run, run_id, "run")
    return found[0].to_json()


@router.post("/runs/{run_id}/confirm", response_model=RunOut, status_code=202)
def confirm(run_id: Id, body: ConfirmIn, db: DbSession, who: Super) -> RunOut:
    """Confirm a run stopped at the deletion threshold: queue one that may remove. ``count``
    must be the number of removals it asks to confirm."""
    run = get_or_404(db, Run, run_id, "run")
    new = ops.confirm_run(db, run, who.email, body.count)
    record(db, who, "run.confirm", run.task.name, {"run": run.id, "confirmed_by_run": new.id})
    return RunOut.model_validate(new)


@router.post("/runs/{run_id}/reject", response_model=RunOut)
def reject(run_id: Id, db: DbSession, who: Super) -> RunOut:
    """Reject the removals of a run stopped at the deletion threshold: it ends cancelled and
    nothing is removed."""
    run = get_or_404(db, Run, run_id, "run")
    ops.reject_run(db, run, who.email)
    record(db, who, "run.reject", run.task.name, {"run": run.id})
    return RunOut.model_validate(run)


@router.post("/runs/{run_id}/cancel", response_model=RunOut)
def cancel(run_id: Id, db: DbSession, who: Writer) -> RunOut:
    """Cancel a queued run, or ask a running one to stop."""
    get_or_404(db, Run, run_id, "run")
    run = queue.cancel(db, run_id)
    record(db, who, "run.cancel", run.task.name, {"run": run_id})
    return RunOut.model_validate(run)
