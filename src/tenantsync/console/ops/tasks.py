"""Definitions, schedules and scheduled tasks of an organization.

A task's scope and a definition's filter rules are checked against the groups synced
into the organization (worker.references, shared with `tenantsync apply`); what cannot be
checked before the first sync is saved with a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.config.diff import compare, definition_view
from tenantsync.config.schema import name_problem
from tenantsync.connectors.kinds import connection_kind
from tenantsync.console.ops.errors import FieldErrors
from tenantsync.console.ops.options import validate_options
from tenantsync.engine.registry import Registry
from tenantsync.engine.scope import Findings, SyncedDirectory, check_options, check_scope
from tenantsync.errors import ConfigError
from tenantsync.store.feed import prune_task
from tenantsync.store.internal import INTERNAL_PREFIX, is_internal
from tenantsync.store.limits import too_long
from tenantsync.store.models import (
    Connection,
    Definition,
    Schedule,
    ScheduledTask,
)
from tenantsync.timeutil import utcnow
from tenantsync.worker.scheduler import arm
from tenantsync.worker.timing import Timing, parse_weekdays, weekdays_text

SCOPE_KINDS = ("all", "group", "dn", "address")
SCOPE_MISSING = {
    "group": "pick one of the synced groups",
    "dn": "give the distinguished name of the group or container, like CN=Sales,OU=Groups,"
    "DC=contoso,DC=com",
    "address": "give the email address of the distribution group",
}
T = TypeVar("T")


@dataclass(frozen=True)
class Saved(Generic[T]):
    """A saved object, and notes on what could not be checked yet."""

    obj: T
    notes: list[str] = field(default_factory=list)


def _problems(found: Findings, prefix: str) -> dict[str, str]:
    """Field errors of a check's problems, keyed by ``prefix`` and their location."""
    errors: dict[str, str] = {}
    for loc, message in found.problems:
        errors.setdefault(prefix + ".".join(str(p) for p in loc), message)
    return errors


def _id_of(obj: Definition | Schedule | ScheduledTask | None) -> int | None:
    return None if obj is None else obj.id


def check_name(session: Session, model: Any, org_id: int, name: str, self_id: int | None) -> str:
    """The trimmed name, if it is not empty, one a configuration file can write, not too
    long and free in the organization."""
    name = name.strip()
    if not name:
        raise FieldErrors({"name": "must not be empty"})
    if is_internal(name):
        raise FieldErrors(
            {
                "name": f"names starting with {INTERNAL_PREFIX.strip()!r} are kept "
                "for tenantsync's own health checks"
            }
        )
    current = session.get(model, self_id) if self_id is not None else None
    if (current is None or current.name != name) and (problem := name_problem(name)):
        raise FieldErrors({"name": problem})  # a name saved before this rule may stay
    if errors := too_long(model, name=name):
        raise FieldErrors(errors)
    taken = session.scalar(
        select(model.id).where(model.organization_id == org_id, model.name == name)
    )
    if taken is not None and taken != self_id:
        raise FieldErrors({"name": f"{name!r} is already used in this organization"})
    return name


def save_definition(
    session: Session,
    registry: Registry,
    org_id: int,
    name: str,
    type_name: str,
    options: dict[str, Any],
    definition: Definition | None = None,
) -> Saved[Definition]:
    """Create or change a definition; options are checked by its type's model, and the
    groups its rules name against the synced ones."""
    try:
        dtype = registry.get(type_name)
    except ConfigError:
        raise FieldErrors({"type": f"unknown type; known: {', '.join(registry.names())}"}) from None
    errors: dict[str, str] = {}
    try:
        name = check_name(session, Definition, org_id, name, _id_of(definition))
    except FieldErrors as exc:
        errors.update(exc.errors)
    found = Findings()
    try:
        options = validate_options(dtype.options_model, options)
    except FieldErrors as exc:
        errors.update({f"opt.{k}": v for k, v in exc.errors.items()})
    else:
        parsed = dtype.options_model.model_validate(options)
        found = check_options(SyncedDirectory(session, org_id), parsed)
        errors.update(_problems(found, "opt."))
    if errors:
        raise FieldErrors(errors)
    if definition is None:
        definition = Definition(organization_id=org_id, name=name, type=type_name, options=options)
        session.add(definition)
    else:
        if definition.type != type_name:
            raise FieldErrors({"type": "the type of a definition cannot change"})
        definition.name = name
        definition.options = options
    session.flush()
    return Saved(definition, [message for _, message in found.notes])


def definition_fields(registry: Registry, definition: Definition) -> dict[str, Any]:
    """A definition as the audit log compares it: its name and every option in effect."""
    view, _defaults = definition_view(registry, definition)
    return {"name": definition.name, **view}


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """What an update changed, field by field (the audit entry's detail)."""
    return [change.to_json() for change in compare(before, after)]


def delete_definition(session: Session, definition: Definition) -> None:
    """Remove a definition; refused while a task uses it."""
    used = session.scalar(
        select(ScheduledTask.name).where(ScheduledTask.definition_id == definition.id)
    )
    if used:
        raise ConfigError(f"task {used!r} uses this definition", field="definition")
    session.delete(definition)
    session.flush()


@dataclass(frozen=True)
class ScheduleInput:
    """A schedule as typed: exactly one of interval and cron."""

    name: str
    interval_seconds: int | None = None
    cron: str | None = None
    timezone: str = "UTC"
    window_start: time | None = None
    window_end: time | None = None
    weekdays: str | None = None  # "mon,tue,wed"; None or empty: every day


def schedule_timing(data: ScheduleInput, errors: dict[str, str] | None = None) -> Timing:
    """The due times a typed schedule makes; problems are raised by field, with ``errors``."""
    errors = dict(errors or {})
    cron = (data.cron or "").strip() or None
    weekdays: tuple[int, ...] | None = None
    try:
        weekdays = parse_weekdays(data.weekdays)
    except ConfigError as exc:
        errors["weekdays"] = str(exc).split(": ", 1)[-1]
    timing = Timing(
        interval_seconds=data.interval_seconds,
        cron=cron,
        timezone=(data.timezone or "UTC").strip(),
        window_start=data.window_start,
        window_end=data.window_end,
        weekdays=weekdays,
    )
    errors.update(too_long(Schedule, cron=timing.cron, timezone=timing.timezone))
    try:
        timing.validate()
        timing.first_due(utcnow())  # a cron that never fires inside the window is refused
    except ConfigError as exc:
        field = {"interval/cron": "interval_seconds", "interval": "interval_seconds"}.get(
            exc.field or "", exc.field or "_"
        )
        errors.setdefault(field, str(exc).split(": ", 1)[-1])
    if errors:
        raise FieldErrors(errors)
    return timing


def save_schedule(
    session: Session, org_id: int, data: ScheduleInput, schedule: Schedule | None = None
) -> Schedule:
    """Create or change a schedule and re-arm the tasks that use it."""
    errors: dict[str, str] = {}
    name = data.name
    try:
        name = check_name(session, Schedule, org_id, data.name, _id_of(schedule))
    except FieldErrors as exc:
        errors.update(exc.errors)
    timing = schedule_timing(data, errors)
    if schedule is None:
        schedule = Schedule(organization_id=org_id, name=name)
        session.add(schedule)
    schedule.name = name
    schedule.interval_seconds = timing.interval_seconds
    schedule.cron = timing.cron
    schedule.timezone = timing.timezone
    schedule.window_start = timing.window_start
    schedule.window_end = timing.window_end
    schedule.weekdays = weekdays_text(timing.weekdays)
    session.flush()
    for task in session.scalars(
        select(ScheduledTask).where(ScheduledTask.schedule_id == schedule.id)
    ):
        arm(task, schedule)
    session.flush()
    return schedule


def delete_schedule(session: Session, schedule: Schedule) -> None:
    """Remove a schedule; its tasks keep running by hand only."""
    for task in session.scalars(
        select(ScheduledTask).where(ScheduledTask.schedule_id == schedule.id)
    ):
        task.schedule_id = None
        task.next_due_at = None
    session.delete(schedule)
    session.flush()


@dataclass(frozen=True)
class TaskInput:
    """A scheduled task as chosen: definition, schedule, connection and scope."""

    name: str
    definition_id: int | None
    schedule_id: int | None = None
    connection_id: int | None = None
    scope_kind: str = "all"
    scope_value: str | None = None
    enabled: bool = True


def save_task(
    session: Session,
    registry: Registry,
    org_id: int,
    data: TaskInput,
    task: ScheduledTask | None = None,
) -> Saved[ScheduledTask]:
    """Create or change a task; every reference must belong to the same organization, and
    its scope must name a synced group, address or DN (unchecked before the first sync)."""
    errors: dict[str, str] = {}
    try:
        name = check_name(session, ScheduledTask, org_id, data.name, _id_of(task))
    except FieldErrors as exc:
        errors.update(exc.errors)
        name = data.name
    definition = _owned(session, Definition, data.definition_id, org_id)
    if definition is None or is_internal(definition.name):
        errors["definition_id"] = "pick a definition of this organization"
    schedule = _owned(session, Schedule, data.schedule_id, org_id)
    if data.schedule_id is not None and schedule is None:
        errors["schedule_id"] = "pick a schedule of this organization"
    connection = _owned(session, Connection, data.connection_id, org_id)
    if data.connection_id is not None and connection is None:
        errors["connection_id"] = "pick a connection of this organization"
    known = definition is not None and definition.type in registry.names()
    dtype = registry.get(definition.type) if definition is not None and known else None
    if dtype is not None and dtype.needs_connection and connection is None:
        errors["connection_id"] = f"a {dtype.name} task needs a connection"
    elif dtype is not None and dtype.needs_connection:
        try:
            connection_kind(connection.kind).require_serves(dtype.name)
        except ConfigError as exc:
            errors["connection_id"] = str(exc)
    scope_value, notes = _scope(session, org_id, data, errors)
    if errors:
        raise FieldErrors(errors)
    assert definition is not None
    if task is None:
        task = ScheduledTask(organization_id=org_id, name=name, definition_id=definition.id)
        session.add(task)
    rearm = task.schedule_id != (schedule.id if schedule else None) or task.next_due_at is None
    task.name = name
    task.definition_id = definition.id
    task.schedule_id = schedule.id if schedule else None
    task.connection_id = connection.id if connection else None
    task.scope_kind = data.scope_kind
    task.scope_value = scope_value
    task.enabled = data.enabled
    if rearm:
        arm(task, schedule)
    session.flush()
    return Saved(task, notes)


def _owned(session: Session, model: Any, object_id: int | None, org_id: int) -> Any:
    if object_id is None:
        return None
    obj = session.get(model, object_id)
    return obj if obj is not None and obj.organization_id == org_id else None


def _scope(
    session: Session, org_id: int, data: TaskInput, errors: dict[str, str]
) -> tuple[str | None, list[str]]:
    """The scope value to store and the notes on it; problems go into ``errors``."""
    if data.scope_kind not in SCOPE_KINDS:
        errors["scope_kind"] = f"one of {', '.join(SCOPE_KINDS)}"
        return None, []
    if data.scope_kind == "all":
        return None, []
    value = (data.scope_value or "").strip()
    if not value:
        errors["scope_value"] = SCOPE_MISSING[data.scope_kind]
    elif data.scope_kind == "dn" and "=" not in value:
        errors["scope_value"] = "a distinguished name looks like CN=…,OU=…,DC=…"
    elif data.scope_kind == "address" and "@" not in value:
        errors["scope_value"] = "an email address of a distribution group"
    else:
        found = check_scope(SyncedDirectory(session, org_id), data.scope_kind, value)
        if found.problems:
            errors["scope_value"] = found.problems[0][1]
        return value, [message for _, message in found.notes]
    return value or None, []


def set_enabled(task: ScheduledTask, enabled: bool) -> None:
    """Enable or disable a task; enabling re-arms its schedule."""
    task.enabled = enabled
    if enabled and task.next_due_at is None:
        arm(task, task.schedule)


def delete_task(session: Session, task: ScheduledTask) -> None:
    """Remove a task (its runs go with it, and the change feed's history before them)."""
    prune_task(session, task.id)
    session.delete(task)
    session.flush()
