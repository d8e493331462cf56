"""Definition types, definitions, schedules and scheduled tasks."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from tenantsync.console.api.schemas import (
    DefinitionIn,
    DefinitionOut,
    DefinitionSavedOut,
    DefinitionTypeOut,
    EnabledIn,
    Id,
    PageNo,
    PageOut,
    PerPage,
    QueryId,
    RunOut,
    ScheduleIn,
    ScheduleOut,
    SearchText,
    TaskIn,
    TaskOut,
    TaskSavedOut,
)
from tenantsync.console.audit import record
from tenantsync.console.auth import DbSession, Reader, Writer
from tenantsync.console.ops import tasks as ops
from tenantsync.console.ops.directory import get_or_404
from tenantsync.console.ops.paging import paginate
from tenantsync.console.ops.runs import start_run
from tenantsync.console.state import state_of
from tenantsync.store.internal import shown
from tenantsync.store.models import Definition, Organization, Schedule, ScheduledTask, Trigger

router = APIRouter(tags=["tasks"])


@router.get("/definition-types", response_model=list[DefinitionTypeOut])
def definition_types(who: Reader, request: Request) -> list[DefinitionTypeOut]:
    """Every registered definition type with the JSON schema of its options."""
    registry = state_of(request).registry
    return [
        DefinitionTypeOut(
            name=t.name,
            title=t.title,
            needs_connection=t.needs_connection,
            options_schema=t.options_model.model_json_schema(),
        )
        for t in (registry.get(n) for n in registry.names())
    ]


def _org(db: DbSession, org_id: int) -> Organization:
    return get_or_404(db, Organization, org_id, "organization")


@router.get("/organizations/{org_id}/definitions", response_model=PageOut[DefinitionOut])
def list_definitions(
    org_id: Id,
    db: DbSession,
    who: Reader,
    type: SearchText = "",
    page: PageNo = 1,
    per_page: PerPage = 50,
) -> PageOut[DefinitionOut]:
    """An organization's definitions by name, optionally of one type."""
    _org(db, org_id)
    stmt = select(Definition).where(Definition.organization_id == org_id, shown(Definition))
    if type:
        stmt = stmt.where(Definition.type == type)
    found = paginate(db, stmt.order_by(Definition.name), page, per_page)
    return PageOut.of(found, DefinitionOut.model_validate)


@router.post(
    "/organizations/{org_id}/definitions", response_model=DefinitionSavedOut, status_code=201
)
def create_definition(
    org_id: Id, body: DefinitionIn, db: DbSession, who: Writer, request: Request
) -> DefinitionSavedOut:
    """Add a definition; options are validated by the type's model, errors name each field."""
    _org(db, org_id)
    registry = state_of(request).registry
    saved = ops.save_definition(db, registry, org_id, body.name, body.type, body.options)
    record(db, who, "definition.create", saved.obj.name, {"type": saved.obj.type})
    return _definition_saved(saved)


def _definition_saved(saved: ops.Saved[Definition]) -> DefinitionSavedOut:
    base = DefinitionOut.model_validate(saved.obj).model_dump()
    return DefinitionSavedOut(**base, notes=saved.notes)


@router.get("/definitions/{definition_id}", response_model=DefinitionOut)
def get_definition(definition_id: Id, db: DbSession, who: Reader) -> DefinitionOut:
    """One definition with its options."""
    return DefinitionOut.model_validate(get_or_404(db, Definition, definition_id, "definition"))


@router.put("/definitions/{definition_id}", response_model=DefinitionSavedOut)
def update_definition(
    definition_id: Id, body: DefinitionIn, db: DbSession, who: Writer, request: Request
) -> DefinitionSavedOut:
    """Change a definition's name or options (its type cannot change)."""
    d = get_or_404(db, Definition, definition_id, "definition")
    registry = state_of(request).registry
    before = ops.definition_fields(registry, d)
    saved = ops.save_definition(
        db, registry, d.organization_id, body.name, body.type, body.options, d
    )
    changes = ops.changed_fields(before, ops.definition_fields(registry, d))
    record(db, who, "definition.update", d.name, {"changes": changes})
    return _definition_saved(saved)


@router.delete("/definitions/{definition_id}", status_code=204)
def delete_definition(definition_id: Id, db: DbSession, who: Writer) -> None:
    """Remove a definition that no task uses."""
    d = get_or_404(db, Definition, definition_id, "definition")
    ops.delete_definition(db, d)
    record(db, who, "definition.delete", d.name)


@router.get("/organizations/{org_id}/schedules", response_model=PageOut[ScheduleOut])
def list_schedules(
    org_id: Id, db: DbSession, who: Reader, page: PageNo = 1, per_page: PerPage = 50
) -> PageOut[ScheduleOut]:
    """An organization's schedules by name."""
    _org(db, org_id)
    stmt = select(Schedule).where(Schedule.organization_id == org_id).order_by(Schedule.name)
    return PageOut.of(paginate(db, stmt, page, per_page), ScheduleOut.model_validate)


def _schedule_input(body: ScheduleIn) -> ops.ScheduleInput:
    data = body.model_dump()
    days = data.pop("weekdays")
    return ops.ScheduleInput(**data, weekdays=None if days is None else ",".join(days))


@router.post("/organizations/{org_id}/schedules", response_model=ScheduleOut, status_code=201)
def create_schedule(org_id: Id, body: ScheduleIn, db: DbSession, who: Writer) -> ScheduleOut:
    """Add a schedule: an interval or a cron expression, a time zone, an optional window."""
    _org(db, org_id)
    s = ops.save_schedule(db, org_id, _schedule_input(body))
    record(db, who, "schedule.create", s.name)
    return ScheduleOut.model_validate(s)


@router.get("/schedules/{schedule_id}", response_model=ScheduleOut)
def get_schedule(schedule_id: Id, db: DbSession, who: Reader) -> ScheduleOut:
    """One schedule."""
    return ScheduleOut.model_validate(get_or_404(db, Schedule, schedule_id, "schedule"))


@router.put("/schedules/{schedule_id}", response_model=ScheduleOut)
def update_schedule(schedule_id: Id, body: ScheduleIn, db: DbSession, who: Writer) -> ScheduleOut:
    """Change a schedule; the tasks using it are re-armed."""
    s = get_or_404(db, Schedule, schedule_id, "schedule")
    ops.save_schedule(db, s.organization_id, _schedule_input(body), s)
    record(db, who, "schedule.update", s.name)
    return ScheduleOut.model_validate(s)


@router.delete("/schedules/{schedule_id}", status_code=204)
def delete_schedule(schedule_id: Id, db: DbSession, who: Writer) -> None:
    """Remove a schedule; its tasks then run by hand only."""
    s = get_or_404(db, Schedule, schedule_id, "schedule")
    ops.delete_schedule(db, s)
    record(db, who, "schedule.delete", s.name)


@router.get("/organizations/{org_id}/tasks", response_model=PageOut[TaskOut])
def list_tasks(
    org_id: Id,
    db: DbSession,
    who: Reader,
    enabled: bool | None = None,
    definition_id: QueryId | None = None,
    page: PageNo = 1,
    per_page: PerPage = 50,
) -> PageOut[TaskOut]:
    """An organization's scheduled tasks by name, optionally enabled ones or one definition's."""
    _org(db, org_id)
    stmt = select(ScheduledTask).where(
        ScheduledTask.organization_id == org_id, shown(ScheduledTask)
    )
    if enabled is not None:
        stmt = stmt.where(ScheduledTask.enabled.is_(enabled))
    if definition_id is not None:
        stmt = stmt.where(ScheduledTask.definition_id == definition_id)
    found = paginate(db, stmt.order_by(ScheduledTask.name), page, per_page)
    return PageOut.of(found, TaskOut.model_validate)


def _task_input(body: TaskIn) -> ops.TaskInput:
    return ops.TaskInput(**body.model_dump())


@router.post("/organizations/{org_id}/tasks", response_model=TaskSavedOut, status_code=201)
def create_task(
    org_id: Id, body: TaskIn, db: DbSession, who: Writer, request: Request
) -> TaskSavedOut:
    """Add a task: definition + schedule + connection + scope."""
    _org(db, org_id)
    saved = ops.save_task(db, state_of(request).registry, org_id, _task_input(body))
    record(db, who, "task.create", saved.obj.name)
    return _task_saved(saved)


def _task_saved(saved: ops.Saved[ScheduledTask]) -> TaskSavedOut:
    return TaskSavedOut(**TaskOut.model_validate(saved.obj).model_dump(), notes=saved.notes)


@router.get("/tasks/{task_id}", response_model=TaskOut)
def get_task(task_id: Id, db: DbSession, who: Reader) -> TaskOut:
    """One scheduled task."""
    return TaskOut.model_validate(get_or_404(db, ScheduledTask, task_id, "task"))


@router.put("/tasks/{task_id}", response_model=TaskSavedOut)
def update_task(
    task_id: Id, body: TaskIn, db: DbSession, who: Writer, request: Request
) -> TaskSavedOut:
    """Change a task's definition, schedule, connection, scope or enabled state."""
    t = get_or_404(db, ScheduledTask, task_id, "task")
    saved = ops.save_task(db, state_of(request).registry, t.organization_id, _task_input(body), t)
    record(db, who, "task.update", t.name)
    return _task_saved(saved)


@router.patch("/tasks/{task_id}", response_model=TaskOut)
def enable_task(task_id: Id, body: EnabledIn, db: DbSession, who: Writer) -> TaskOut:
    """Enable or disable a task."""
    t = get_or_404(db, ScheduledTask, task_id, "task")
    ops.set_enabled(t, body.enabled)
    record(db, who, "task.enable" if body.enabled else "task.disable", t.name)
    return TaskOut.model_validate(t)


@router.delete("/tasks/{task_id}", status_code=204)
def delete_task(task_id: Id, db: DbSession, who: Writer) -> None:
    """Remove a task with its run history."""
    t = get_or_404(db, ScheduledTask, task_id, "task")
    record(db, who, "task.delete", t.name)
    ops.delete_task(db, t)


@router.post("/tasks/{task_id}/run", response_model=RunOut, status_code=202)
def run_now(task_id: Id, db: DbSession, who: Writer) -> RunOut:
    """Queue a run of the task now."""
    t = get_or_404(db, ScheduledTask, task_id, "task")
    run = start_run(db, t, Trigger.MANUAL, who.email)
    record(db, who, "task.run", t.name, {"run": run.id})
    return RunOut.model_validate(run)


@router.post("/tasks/{task_id}/preview", response_model=RunOut, status_code=202)
def preview(task_id: Id, db: DbSession, who: Writer, full: bool = False) -> RunOut:
    """Queue a preview: the plan is computed and never applied (``full``: from a read of
    everything in the source, not only what changed since the last run)."""
    t = get_or_404(db, ScheduledTask, task_id, "task")
    run = start_run(db, t, Trigger.PREVIEW, who.email, full_read=full)
    record(
        db, who, "task.preview", t.name, {"run": run.id, **({"full_read": True} if full else {})}
    )
    return RunOut.model_validate(run)
