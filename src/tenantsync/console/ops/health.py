"""The connection health check, run as a run of the registered "connection_check" type.

The console does not know how a connection is checked: when the installation registers a
definition type named ``connection_check``, "Run health check" queues a run of a task of
that type on the connection (created on first use, so it can also be scheduled), and the
handler stores its lines on the connection. Without that type there is no check button.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.engine.registry import Registry
from tenantsync.store.models import Connection, Definition, Run, ScheduledTask, Trigger
from tenantsync.worker import queue

CHECK_TYPE = "connection_check"
DEFINITION_NAME = "connection check"


def available(registry: Registry) -> bool:
    """Whether this installation can check connections."""
    return CHECK_TYPE in registry.names()


def check_task(session: Session, registry: Registry, conn: Connection) -> ScheduledTask:
    """The connection's check task, created (with its definition) on first use."""
    task = session.scalar(
        select(ScheduledTask)
        .join(Definition, Definition.id == ScheduledTask.definition_id)
        .where(ScheduledTask.connection_id == conn.id, Definition.type == CHECK_TYPE)
        .order_by(ScheduledTask.id)
        .limit(1)
    )
    if task is not None:
        return task
    definition = session.scalar(
        select(Definition)
        .where(Definition.organization_id == conn.organization_id, Definition.type == CHECK_TYPE)
        .order_by(Definition.id)
        .limit(1)
    )
    if definition is None:
        options = registry.validate_options(CHECK_TYPE, {}).model_dump(mode="json")
        definition = Definition(
            organization_id=conn.organization_id,
            name=_free_name(session, Definition, conn.organization_id, DEFINITION_NAME),
            type=CHECK_TYPE,
            options=options,
        )
        session.add(definition)
        session.flush()
    task = ScheduledTask(
        organization_id=conn.organization_id,
        name=_free_name(session, ScheduledTask, conn.organization_id, f"check {conn.name}"),
        definition_id=definition.id,
        connection_id=conn.id,
    )
    session.add(task)
    session.flush()
    return task


def queue_check(session: Session, registry: Registry, conn: Connection, requested_by: str) -> Run:
    """Queue a health check of ``conn``; a worker runs it and stores its lines."""
    task = check_task(session, registry, conn)
    return queue.enqueue(session, task, Trigger.MANUAL, requested_by=requested_by)


def last_check_run(session: Session, conn: Connection) -> Run | None:
    """The newest health check run of ``conn``, if any."""
    return session.scalar(
        select(Run)
        .join(ScheduledTask, ScheduledTask.id == Run.task_id)
        .join(Definition, Definition.id == ScheduledTask.definition_id)
        .where(ScheduledTask.connection_id == conn.id, Definition.type == CHECK_TYPE)
        .order_by(Run.id.desc())
        .limit(1)
    )


def _free_name(
    session: Session, model: type[Definition] | type[ScheduledTask], org_id: int, name: str
) -> str:
    base = name[:110]
    candidate, n = base, 1
    while session.scalar(
        select(model.id).where(model.organization_id == org_id, model.name == candidate)
    ):
        n += 1
        candidate = f"{base} ({n})"
    return candidate
