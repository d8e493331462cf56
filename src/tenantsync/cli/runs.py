"""Runs: list, show, cancel; and running a task now (or previewing it)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn
from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.cli.common import (
    emit_json,
    err,
    fmt_duration,
    fmt_time,
    load_settings,
    open_db,
    out,
    table,
)
from tenantsync.console.audit import record_cli
from tenantsync.console.ops.progress import progress_of
from tenantsync.engine.registry import default_registry
from tenantsync.errors import GuardStop, NotFound, RunCancelled, TenantSyncError
from tenantsync.store.directory import find_task
from tenantsync.store.internal import shown
from tenantsync.store.models import (
    ChangeRecord,
    Definition,
    Organization,
    Run,
    RunStatus,
    ScheduledTask,
    Trigger,
)
from tenantsync.worker import queue
from tenantsync.worker.runner import Worker

runs_app = typer.Typer(help="Run history: list, show, cancel.", no_args_is_help=True)
task_app = typer.Typer(help="Scheduled tasks: list, run now, preview.", no_args_is_help=True)

# What `task run --wait` exits with when its run ended with warnings or failed; a
# threshold stop and a cancelled run end it with their errors' codes (7 and 8).
EXIT_BY_STATUS = {RunStatus.SUCCEEDED: 0, RunStatus.WARNING: 10, RunStatus.FAILED: 11}
ENDED_BY = {RunStatus.AWAITING_CONFIRMATION: GuardStop, RunStatus.CANCELLED: RunCancelled}


def run_summary(run: Run) -> dict[str, Any]:
    """A run as plain data for JSON output."""
    return {
        "id": run.id,
        "task": run.task.name,
        "organization": run.task.organization.name,
        "trigger": run.trigger.value,
        "status": run.status.value,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_seconds": run.duration_seconds,
        "attempts": run.attempts,
        "retried": run.retried,
        "error": run.error,
        "stop_reason": run.stop_reason,
        "removals_to_confirm": len(run.review or []),
        "attempt_log": run.attempt_log,
        "counts": run.counts,
    }


@runs_app.command("list")
def runs_list(
    task: str | None = typer.Option(None, "--task", help="only runs of this task"),
    status: RunStatus | None = typer.Option(None, "--status", help="only runs with this status"),
    limit: int = typer.Option(50, "--limit", min=1, help="newest N runs"),
    as_json: bool = typer.Option(False, "--json", help="JSON for scripts"),
) -> None:
    """The newest runs with status and duration."""
    db = open_db(load_settings())
    with db.session() as session:
        query = select(Run).order_by(Run.id.desc()).limit(limit)
        if task:
            query = query.where(Run.task_id == find_task(session, task).id)
        if status:
            query = query.where(Run.status == status)
        runs = session.scalars(query).all()
        if as_json:
            emit_json([run_summary(r) for r in runs])
            return
        table(
            None,
            ["id", "task", "trigger", "status", "started", "duration", "retried", "message"],
            [
                (
                    r.id,
                    f"{r.task.organization.name}/{r.task.name}",
                    r.trigger.value,
                    r.status.value,
                    fmt_time(r.started_at or r.created_at),
                    fmt_duration(r.duration_seconds),
                    "yes" if r.retried else "",
                    _working(r) or (r.error or "")[:80],
                )
                for r in runs
            ],
        )


@runs_app.command("show")
def runs_show(
    run_id: int = typer.Argument(..., help="run id"),
    changes: int = typer.Option(20, "--changes", min=0, help="how many recorded changes to list"),
    removals: int = typer.Option(
        200, "--removals", min=0, help="how many removals to confirm or planned to list"
    ),
    as_json: bool = typer.Option(False, "--json", help="JSON for scripts"),
) -> None:
    """One run: status, counts, messages, plan summary and the changes it made."""
    db = open_db(load_settings())
    with db.session() as session:
        run = _get_run(session, run_id)
        records = session.scalars(
            select(ChangeRecord)
            .where(ChangeRecord.run_id == run.id)
            .order_by(ChangeRecord.id)
            .limit(changes)
        ).all()
        data = run_summary(run) | {
            "messages": run.messages,
            "plan": run.plan,
            "changes": [
                {
                    "at": c.at,
                    "actor": c.actor,
                    "entity": c.entity,
                    "key": c.key,
                    "action": c.action,
                    "before": c.before,
                    "after": c.after,
                }
                for c in records
            ],
        }
        if as_json:
            emit_json(data)
            return
        for key in ("id", "organization", "task", "trigger", "status", "attempts", "retried"):
            out.print(f"{key}: {data[key]}")
        out.print(
            f"created: {fmt_time(run.created_at)}  started: {fmt_time(run.started_at)}  "
            f"finished: {fmt_time(run.finished_at)}  duration: {fmt_duration(run.duration_seconds)}"
        )
        if run.error and run.error != run.stop_reason:
            out.print(f"error: {run.error}")
        for attempt in run.attempt_log or []:
            out.print(f"attempt {attempt.get('attempt')} failed: {attempt.get('error')}")
        if run.status is RunStatus.AWAITING_CONFIRMATION:
            out.print(f"awaiting confirmation: {run.stop_reason}")
            review = run.review or []
            title = f"removals to confirm ({len(review)})"
            if len(review) > removals:
                title = f"removals to confirm (first {removals} of {len(review)}; --json lists all)"
            table(title, ["key"], [(key,) for key in review[:removals]])
        elif run.stop_reason:
            out.print(f"a real run would stop: {run.stop_reason}")
        if run.counts:
            table("counts", ["count", "value"], sorted(run.counts.items()))
        for message in run.messages:
            out.print(f"{message.get('level', 'info')}: {message.get('text', message)}")
        if run.plan and run.plan.get("counts"):
            table("plan", ["change", "count"], sorted(run.plan.get("counts", {}).items()))
        _print_planned_removals(run, removals)
        if records:
            table(
                "changes",
                ["at", "entity", "key", "action", "before", "after"],
                [
                    (
                        fmt_time(c.at),
                        c.entity,
                        c.key,
                        c.action,
                        _compact(c.before),
                        _compact(c.after),
                    )
                    for c in records
                ],
            )


@runs_app.command("confirm")
def runs_confirm(
    run_id: int = typer.Argument(..., help="the run awaiting confirmation"),
    wait: bool = typer.Option(False, "--wait", help="run the confirming run here and report"),
) -> None:
    """Confirm a threshold stop: a new run applies the reviewed removals (and stops again if
    the source now asks for more)."""
    settings = load_settings()
    db = open_db(settings)
    with db.session() as session:
        stopped = _get_run(session, run_id)
        confirming = queue.confirm(session, stopped, "cli").id
        record_cli(
            session,
            "run.confirm",
            stopped.task.name,
            {"run": run_id, "confirmed_by_run": confirming},
        )
    if not wait:
        out.print(f"run {confirming} queued to confirm run {run_id}")
        return
    _finish_waiting(db, settings, confirming, as_json=False)


@runs_app.command("reject")
def runs_reject(run_id: int = typer.Argument(..., help="the run awaiting confirmation")) -> None:
    """Reject a threshold stop: the run ends cancelled and nothing is removed."""
    db = open_db(load_settings())
    with db.session() as session:
        run = queue.reject(session, _get_run(session, run_id), "cli")
        record_cli(session, "run.reject", run.task.name, {"run": run_id})
    out.print(f"run {run_id} rejected: nothing was removed")


@runs_app.command("cancel")
def runs_cancel(run_id: int = typer.Argument(..., help="run id")) -> None:
    """Cancel a queued run, or ask a running one to stop."""
    db = open_db(load_settings())
    with db.session() as session:
        run = queue.cancel(session, run_id)
        record_cli(session, "run.cancel", run.task.name, {"run": run_id})
        if run.status == RunStatus.CANCELLED:
            out.print(f"run {run_id} cancelled")
        elif run.cancel_requested:
            out.print(f"run {run_id} is running; asked it to stop")
        else:
            raise TenantSyncError(f"run {run_id} already ended ({run.status.value})")


def _working(run: Run) -> str | None:
    """A working run's stage, count, rate and time left (None for any other run)."""
    if run.status is not RunStatus.RUNNING:
        return None
    return progress_of(run.id, run.status, run.progress).text


def run_switches(run: Run) -> dict[str, Any]:
    """A run's audit detail: its id and the switches it was started with."""
    return {
        "run": run.id,
        **({"confirm_removals": True} if run.confirm_removals else {}),
        **({"full_read": True} if queue.full_read_asked(run) else {}),
    }


def _compact(value: dict[str, Any] | None) -> str:
    """A change's before or after on one line, names as written (no \\u escapes)."""
    return "" if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


def _get_run(session: Session, run_id: int) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise NotFound(f"no run {run_id}")
    return run


@task_app.command("list")
def task_list(as_json: bool = typer.Option(False, "--json", help="JSON for scripts")) -> None:
    """Every scheduled task with its type, schedule and next due time."""
    db = open_db(load_settings())
    with db.session() as session:
        rows = session.execute(
            select(ScheduledTask, Definition, Organization)
            .join(Definition, Definition.id == ScheduledTask.definition_id)
            .join(Organization, Organization.id == ScheduledTask.organization_id)
            .where(shown(ScheduledTask))
            .order_by(Organization.name, ScheduledTask.name)
        ).all()
        data: list[dict[str, Any]] = [
            {
                "organization": o.name,
                "name": t.name,
                "type": d.type,
                "schedule": t.schedule.name if t.schedule else None,
                "enabled": t.enabled,
                "next_due_at": t.next_due_at,
                "scope": t.scope_kind
                if t.scope_kind == "all"
                else f"{t.scope_kind}:{t.scope_value}",
            }
            for t, d, o in rows
        ]
    if as_json:
        emit_json(data)
        return
    table(
        None,
        ["organization", "task", "type", "schedule", "enabled", "next due", "scope"],
        [
            (
                r["organization"],
                r["name"],
                r["type"],
                r["schedule"],
                r["enabled"],
                fmt_time(r["next_due_at"]),
                r["scope"],
            )
            for r in data
        ],
    )


@task_app.command("run")
def task_run(
    name: str = typer.Argument(..., help="task name, or ORG/NAME"),
    preview: bool = typer.Option(False, "--preview", help="compute the plan only; apply nothing"),
    wait: bool = typer.Option(False, "--wait", help="run it here and wait for the result"),
    confirm_removals: bool = typer.Option(
        False, "--confirm-removals", help="allow removals above the safety threshold"
    ),
    full: bool = typer.Option(
        False, "--full", help="read everything from the source, not only what changed"
    ),
    as_json: bool = typer.Option(False, "--json", help="JSON for scripts (with --wait)"),
) -> None:
    """Queue a run of a task now (or a preview); with --wait, execute it and report."""
    settings = load_settings()
    db = open_db(settings)
    with db.session() as session:
        task = find_task(session, name)
        run = queue.enqueue(
            session,
            task,
            Trigger.PREVIEW if preview else Trigger.MANUAL,
            requested_by="cli",
            confirm_removals=confirm_removals,
            full_read=full,
        )
        run_id = run.id
        record_cli(session, f"task.{'preview' if preview else 'run'}", task.name, run_switches(run))
    if not wait:
        if as_json:
            emit_json({"id": run_id, "status": "queued"})
        else:
            out.print(f"run {run_id} queued")
        return
    _finish_waiting(db, settings, run_id, as_json=as_json)


def _finish_waiting(db: Any, settings: Any, run_id: int, *, as_json: bool) -> None:
    """Execute a queued run here, report it, and exit with its status's code."""
    status = wait_for_run(db, settings, run_id, quiet=as_json)
    with db.session() as session:
        run = _get_run(session, run_id)
        if as_json:
            emit_json(run_summary(run) | {"messages": run.messages, "plan": run.plan})
        else:
            _print_result(run)
        error = run.error
    end_with(run_id, status, error)


def end_with(run_id: int, status: RunStatus, error: str | None) -> None:
    """Exit as a waited run ended: nothing for success, else one line and the status's code."""
    if status is RunStatus.SUCCEEDED:
        return
    ended = f"run {run_id} ended {status.value}" + (f": {error}" if error else "")
    if status in ENDED_BY:
        raise ENDED_BY[status](ended)
    err.print(ended)
    raise typer.Exit(EXIT_BY_STATUS[status])


def wait_for_run(db: Any, settings: Any, run_id: int, *, quiet: bool = False) -> RunStatus:
    """Execute ``run_id`` in this process if no worker took it, showing its stage and count
    as the worker publishes them; its end status."""
    worker = Worker(db, settings, default_registry())
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        console=err,
        transient=True,
        disable=quiet,
    ) as progress:
        bar = progress.add_task(f"run {run_id}", total=None)
        while True:
            # The run works in a thread while this one shows its progress; a transient
            # failure queues it again, and its next attempt runs here too (unless a worker
            # took it first).
            _step_showing(worker, run_id, progress, bar, db)
            with db.sessions() as session:
                run = _get_run(session, run_id)
                if run.status.finished:
                    return run.status
                queued_again = run.status is RunStatus.QUEUED
            if not queued_again:
                time.sleep(0.5)  # another worker holds it


def _step_showing(worker: Worker, run_id: int, progress: Progress, bar: Any, db: Any) -> None:
    """One ``worker.step(run_id)`` in a thread, the bar following the run's progress."""
    failed: list[BaseException] = []

    def step() -> None:
        try:
            worker.step(run_id)
        except BaseException as exc:  # raised again in the caller's thread
            failed.append(exc)

    working = threading.Thread(target=step, name=f"run-{run_id}", daemon=True)
    working.start()
    while working.is_alive():
        with db.sessions() as session:
            run = _get_run(session, run_id)
            p = run.progress or {}
            status = run.status.value
        progress.update(
            bar,
            description=f"run {run_id}: {p.get('stage', status)}",
            completed=p.get("done") or 0,
            total=p.get("total"),
        )
        working.join(0.5)
    if failed:
        raise failed[0]


def _print_result(run: Run) -> None:
    out.print(f"run {run.id} {run.status.value} in {fmt_duration(run.duration_seconds)}")
    if run.counts:
        table(None, ["count", "value"], sorted(run.counts.items()))
    if run.plan and run.plan.get("counts") and run.trigger is Trigger.PREVIEW:
        table("plan", ["change", "count"], sorted(run.plan.get("counts", {}).items()))
    print_warnings(run)


def print_warnings(run: Run) -> None:
    """A waited run's warnings and errors, after its figures."""
    for message in run.messages or []:
        level = message.get("level", "info") if isinstance(message, dict) else "info"
        if level in ("warning", "error"):
            out.print(f"{level}: {message.get('text', message)}", markup=False)


def _print_planned_removals(run: Run, limit: int) -> None:
    """The removals a run's plan holds (those it keeps: the first of a long plan)."""
    plan = run.plan or {}
    removals = [c for c in plan.get("changes") or [] if c.get("action") == "remove"]
    planned = sum(int(n) for k, n in (plan.get("counts") or {}).items() if k.endswith(".remove"))
    if not planned or run.status is RunStatus.AWAITING_CONFIRMATION:
        return  # none, or listed above as the removals to confirm
    removals = removals[:limit]
    title = f"planned removals ({planned})"
    if len(removals) < planned:
        title = f"planned removals (first {len(removals)} of {planned})"
    table(
        title,
        ["entity", "key", "reason"],
        [(c.get("entity"), c.get("key"), c.get("reason")) for c in removals],
    )
