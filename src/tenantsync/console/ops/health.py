"""The connection health check, run as a run of the registered "connection_check" type.

The console does not know how a connection is checked: when the installation registers a
definition type named ``connection_check``, "Run health check" queues a run of a task of
that type on the connection, and the handler stores its lines on the connection. Without
that type there is no check button. The task and its definition are tenantsync's own
(``store.internal``): created on first use, never listed nor exported, and removed with
the connection. To check a connection on a schedule, create a task of that type.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.engine.registry import Registry
from tenantsync.store.internal import internal_name, is_internal
from tenantsync.store.models import Connection, Definition, Run, ScheduledTask, Trigger
from tenantsync.worker import queue

CHECK_TYPE = "connection_check"
DEFINITION_NAME = internal_name("connection check")


def available(registry: Registry) -> bool:
    """Whether this installation can check connections."""
    return CHECK_TYPE in registry.names()


def check_task(session: Session, registry: Registry, conn: Connection) -> ScheduledTask:
    """The connection's check task, created (with the check definition) on first use."""
    name = _task_name(conn)
    task = session.scalar(
        select(ScheduledTask).where(
            ScheduledTask.organization_id == conn.organization_id, ScheduledTask.name == name
        )
    )
    if task is not None:
        return task
    definition = session.scalar(
        select(Definition).where(
            Definition.organization_id == conn.organization_id,
            Definition.name == DEFINITION_NAME,
        )
    )
    if definition is None:
        options = registry.validate_options(CHECK_TYPE, {}).model_dump(mode="json")
        definition = Definition(
            organization_id=conn.organization_id,
            name=DEFINITION_NAME,
            type=CHECK_TYPE,
            options=options,
        )
        session.add(definition)
        session.flush()
    task = ScheduledTask(
        organization_id=conn.organization_id,
        name=name,
        definition_id=definition.id,
        connection_id=conn.id,
    )
    session.add(task)
    session.flush()
    return task


def remove_checks(session: Session, conn: Connection) -> None:
    """Remove the connection's check task with its runs (and the check definition once no
    connection of the organization has a check task)."""
    task = session.scalar(
        select(ScheduledTask).where(
            ScheduledTask.organization_id == conn.organization_id,
            ScheduledTask.name == _task_name(conn),
        )
    )
    if task is None:
        return
    definition_id = task.definition_id
    session.delete(task)
    session.flush()
    if session.scalar(select(ScheduledTask.id).where(ScheduledTask.definition_id == definition_id)):
        return
    definition = session.get(Definition, definition_id)
    if definition is not None and is_internal(definition.name):
        session.delete(definition)
        session.flush()


def _task_name(conn: Connection) -> str:
    # By id: the name stays the connection's whatever it is renamed to.
    return internal_name(f"health check of connection {conn.id}")


def queue_check(session: Session, registry: Registry, conn: Connection, requested_by: str) -> Run:
    """Queue a health check of ``conn``; a worker runs it and stores its lines."""
    task = check_task(session, registry, conn)
    return queue.enqueue(session, task, Trigger.MANUAL, requested_by=requested_by)


def last_check_run(session: Session, conn: Connection) -> Run | None:
    """The newest health check run of ``conn`` (from the console or a scheduled check)."""
    return session.scalar(
        select(Run)
        .join(ScheduledTask, ScheduledTask.id == Run.task_id)
        .join(Definition, Definition.id == ScheduledTask.definition_id)
        .where(ScheduledTask.connection_id == conn.id, Definition.type == CHECK_TYPE)
        .order_by(Run.id.desc())
        .limit(1)
    )
