"""Scheduled tasks: create and edit (scope picked from synced groups, a DN or an address),
enable/disable, run now, preview."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from tenantsync.console.api.schemas import Id
from tenantsync.console.audit import record
from tenantsync.console.auth import DbSession, PageReader, PageWriter, Principal
from tenantsync.console.ops import tasks as ops
from tenantsync.console.ops.directory import get_or_404
from tenantsync.console.ops.errors import FieldErrors, field_errors
from tenantsync.console.ops.runs import RunFilter, list_runs, start_run
from tenantsync.console.pages.render import form_data, redirect, render, saved_notice
from tenantsync.console.state import state_of
from tenantsync.engine.calendar import views as calendar_views
from tenantsync.errors import ConfigError
from tenantsync.store.internal import shown
from tenantsync.store.models import (
    Connection,
    Definition,
    Organization,
    Schedule,
    ScheduledTask,
    SourceGroup,
    Trigger,
)

router = APIRouter()
Form = Annotated[dict[str, str], Depends(form_data)]


def _choices(db: DbSession, org_id: int) -> dict[str, list[object]]:
    def of(model: Any) -> list[object]:
        stmt = select(model).where(model.organization_id == org_id).order_by(model.name)
        if model is Definition:
            stmt = stmt.where(shown(Definition))
        return list(db.scalars(stmt))

    groups = db.scalars(
        select(SourceGroup)
        .where(SourceGroup.organization_id == org_id, SourceGroup.deleted_at.is_(None))
        .order_by(SourceGroup.name)
        .limit(2000)
    )
    return {
        "definitions": of(Definition),
        "schedules": of(Schedule),
        "connections": of(Connection),
        "groups": list(groups),
    }


def _form(
    request: Request,
    me: Principal,
    db: DbSession,
    org: Organization,
    task: ScheduledTask | None,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "task_form.html",
        me,
        status,
        org=org,
        task=task,
        values=values,
        errors=errors,
        **_choices(db, org.id),
    )


def _id(form: dict[str, str], key: str, errors: dict[str, str]) -> int | None:
    text = form.get(key, "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 9:
        errors[key] = "pick one from the list"
        return None
    return int(text)


def _input(form: dict[str, str]) -> ops.TaskInput:
    errors: dict[str, str] = {}
    kind = form.get("scope_kind", "all")
    value = form.get(f"scope_{kind}", "") if kind != "all" else ""
    data = ops.TaskInput(
        name=form.get("name", ""),
        definition_id=_id(form, "definition_id", errors),
        schedule_id=_id(form, "schedule_id", errors),
        connection_id=_id(form, "connection_id", errors),
        scope_kind=kind,
        scope_value=value or None,
        enabled=form.get("enabled") == "on",
    )
    if errors:
        raise FieldErrors(errors)
    return data


def _values(task: ScheduledTask) -> dict[str, str]:
    values = {
        "name": task.name,
        "definition_id": str(task.definition_id),
        "schedule_id": str(task.schedule_id or ""),
        "connection_id": str(task.connection_id or ""),
        "scope_kind": task.scope_kind,
        "enabled": "on" if task.enabled else "",
    }
    if task.scope_kind != "all":
        values[f"scope_{task.scope_kind}"] = task.scope_value or ""
    return values


@router.get("/organizations/{org_id}/tasks/new", response_class=HTMLResponse)
def new_task(request: Request, org_id: Id, db: DbSession, me: PageWriter) -> HTMLResponse:
    """The form for a new scheduled task."""
    org = get_or_404(db, Organization, org_id, "organization")
    return _form(request, me, db, org, None, {"scope_kind": "all", "enabled": "on"}, {})


@router.post("/organizations/{org_id}/tasks/new", response_model=None)
def create_task(
    request: Request, org_id: Id, db: DbSession, me: PageWriter, form: Form
) -> HTMLResponse | RedirectResponse:
    """Save a new task; errors are shown next to their fields."""
    org = get_or_404(db, Organization, org_id, "organization")
    try:
        saved = ops.save_task(db, state_of(request).registry, org.id, _input(form))
    except ConfigError as exc:
        return _form(request, me, db, org, None, form, field_errors(exc), 422)
    task = saved.obj
    record(db, me, "task.create", task.name)
    return redirect(request, f"/tasks/{task.id}", saved_notice("Task", saved))


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def task_page(request: Request, task_id: Id, db: DbSession, me: PageReader) -> HTMLResponse:
    """A task: what it runs, when, where, on whom; its recent runs; run now and preview."""
    task = get_or_404(db, ScheduledTask, task_id, "task")
    runs = list_runs(db, RunFilter(task_id=task.id), 1, 20)
    attention = calendar_views.needing_attention(db, task.id)
    return render(request, "task.html", me, task=task, runs=runs, attention=attention)


@router.get("/tasks/{task_id}/edit", response_class=HTMLResponse)
def edit_task(request: Request, task_id: Id, db: DbSession, me: PageWriter) -> HTMLResponse:
    """The form to change a task."""
    task = get_or_404(db, ScheduledTask, task_id, "task")
    return _form(request, me, db, task.organization, task, _values(task), {})


@router.post("/tasks/{task_id}/edit", response_model=None)
def update_task(
    request: Request, task_id: Id, db: DbSession, me: PageWriter, form: Form
) -> HTMLResponse | RedirectResponse:
    """Save a task's changes."""
    task = get_or_404(db, ScheduledTask, task_id, "task")
    org = task.organization
    try:
        saved = ops.save_task(db, state_of(request).registry, org.id, _input(form), task)
    except ConfigError as exc:
        return _form(request, me, db, org, task, form, field_errors(exc), 422)
    record(db, me, "task.update", task.name)
    return redirect(request, f"/tasks/{task.id}", saved_notice("Task", saved))


@router.post("/tasks/{task_id}/enable")
def enable(
    request: Request, task_id: Id, db: DbSession, me: PageWriter, form: Form
) -> RedirectResponse:
    """Enable or disable a task."""
    task = get_or_404(db, ScheduledTask, task_id, "task")
    enabled = form.get("enabled") == "true"
    ops.set_enabled(task, enabled)
    record(db, me, "task.enable" if enabled else "task.disable", task.name)
    return redirect(request, f"/tasks/{task.id}", f"Task {'enabled' if enabled else 'disabled'}")


@router.post("/tasks/{task_id}/run")
def run_now(
    request: Request, task_id: Id, db: DbSession, me: PageWriter, form: Form
) -> RedirectResponse:
    """Queue a run now, or a preview when the form says so (a full one reads everything)."""
    task = get_or_404(db, ScheduledTask, task_id, "task")
    trigger = Trigger.PREVIEW if form.get("preview") == "true" else Trigger.MANUAL
    full = form.get("full") == "true"
    run = start_run(db, task, trigger, me.email, full_read=full)
    record(
        db,
        me,
        f"task.{'preview' if trigger is Trigger.PREVIEW else 'run'}",
        task.name,
        {"run": run.id, **({"full_read": True} if full else {})},
    )
    what = ("Full preview" if full else "Preview") if trigger is Trigger.PREVIEW else "Run"
    return redirect(request, f"/runs/{run.id}", f"{what} {run.id} queued")


@router.post("/tasks/{task_id}/delete")
def delete_task(
    request: Request, task_id: Id, db: DbSession, me: PageWriter, form: Form
) -> RedirectResponse:
    """Remove a task with its run history."""
    task = get_or_404(db, ScheduledTask, task_id, "task")
    org_id = task.organization_id
    record(db, me, "task.delete", task.name)
    ops.delete_task(db, task)
    return redirect(request, f"/organizations/{org_id}", f"Task {task.name} deleted")
