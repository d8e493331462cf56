"""Runs of calendar replication tasks against a sandbox tenant, through the worker, and
what the sandbox itself says a mailbox's calendar holds (its calendarView).

The sandbox app is served in-process (httpx ASGI transport); each run gets a fresh app
over the same tenant, so changes made to the tenant between runs are what the next run
reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from tenantsync.connectors.graph_events import parse_when
from tenantsync.engine.calendar import DEFINITION_TYPE
from tenantsync.engine.calendar.feature import window
from tenantsync.engine.calendar.options import CalendarOptions
from tenantsync.engine.registry import Registry
from tenantsync.engine.sources import Sources
from tenantsync.sandbox import SandboxTenant, asgi_transport, create_app
from tenantsync.sandbox.graph_render import instance_id
from tenantsync.sandbox.recurrence import instances
from tenantsync.store.models import (
    CalendarReplica,
    CalendarSyncState,
    Organization,
    ScheduledTask,
    Trigger,
)
from tenantsync.timeutil import utcnow
from tenantsync.worker import queue
from tenantsync.worker.runner import Worker
from tests.integration.permission_sync.harness import Harness, RunResult
from tests.support.factory import make_task

__all__ = ["CalendarHarness", "RunResult", "calendar_now"]


def calendar_now() -> datetime:
    """Midnight today, UTC (what the replication window is cut from)."""
    return utcnow().replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class CalendarHarness(Harness):
    """An organization loaded from a sandbox tenant, with calendar replication tasks."""

    def task(  # type: ignore[override]
        self, name: str, *, scope: str = "all", value: str | None = None, **options: Any
    ) -> int:
        with self.db.session() as s:
            org = s.get_one(Organization, self.organization_id)
            task = make_task(s, org, name, type_=DEFINITION_TYPE.name, options=options)
            task.connection_id = self.connection_id
            task.scope_kind = scope
            task.scope_value = value
            return task.id

    def run(
        self, task_id: int, *, preview: bool = False, confirm_removals: bool = False
    ) -> RunResult:
        app = create_app(self.tenant, **{"latency": 0, **self.app_options})
        # Delta links outlive an app: every app of the harness signs tokens the same way.
        codec = self.__dict__.setdefault("_codec", app.state.sandbox.codec)
        app.state.sandbox.codec = codec
        self.last_app = app
        transport = asgi_transport(app)
        sources = Sources(transport=transport, retries=self.retries)
        worker = Worker(self.db, self.settings, Registry([DEFINITION_TYPE]), sources=sources)
        with self.db.session() as s:
            task = s.get_one(ScheduledTask, task_id)
            trigger = Trigger.PREVIEW if preview else Trigger.MANUAL
            run_id = queue.enqueue(s, task, trigger, confirm_removals=confirm_removals).id
        for _attempt in range(self.settings.run_attempts):
            assert worker.step(run_id)
            if self.result(run_id).status != "queued":
                break
        return self.result(run_id)

    # ---- what the store holds -----------------------------------------------------------
    def mailbox_id(self, user_id: str) -> int:
        return self.loaded.mailboxes[user_id]

    def replicas(self, user_id: str) -> dict[str, tuple[str, str]]:
        """source id → (kind, subject) of a mailbox's replicas."""
        with self.db.session() as s:
            rows = s.execute(
                select(
                    CalendarReplica.source_id, CalendarReplica.kind, CalendarReplica.subject
                ).where(CalendarReplica.mailbox_id == self.mailbox_id(user_id))
            )
            return {sid: (kind.value, subject) for sid, kind, subject in rows}

    def all_replicas(self) -> set[tuple[int, str]]:
        with self.db.session() as s:
            rows = s.execute(select(CalendarReplica.mailbox_id, CalendarReplica.source_id))
            return {(m, sid) for m, sid in rows}

    def state(self, user_id: str, key: str = "primary") -> CalendarSyncState | None:
        with self.db.session() as s:
            row = s.get(CalendarSyncState, (self.mailbox_id(user_id), key))
            if row is not None:
                s.expunge(row)
            return row

    # ---- what the sandbox says ----------------------------------------------------------
    def window(self, **options: Any) -> tuple[datetime, datetime]:
        return window(utcnow(), CalendarOptions(**options))

    def source_instances(
        self, user_id: str, start: datetime, end: datetime, calendar_id: str | None = None
    ) -> set[tuple[str, datetime, datetime]]:
        """(subject, start, end) in UTC of every item the sandbox's calendarView gives."""
        owner = self.tenant.users[user_id]
        out = set()
        for event in self.tenant.calendar(owner.id, calendar_id).values():
            for item in instances(event, start, end):
                if event.is_all_day:
                    continue
                out.add(
                    (
                        item.subject,
                        item.start.astimezone(UTC).replace(microsecond=0),
                        item.end.astimezone(UTC).replace(microsecond=0),
                    )
                )
        return out

    def source_ids(self, user_id: str, start: datetime, end: datetime) -> set[str]:
        owner = self.tenant.users[user_id]
        return {
            instance_id(i)
            for ev in self.tenant.calendar(owner.id).values()
            for i in instances(ev, start, end)
        }


def people(tenant: SandboxTenant) -> list[str]:
    """Ids of the tenant's user mailboxes (those with series and exceptions)."""
    return [u.id for u in tenant.users.values() if u.mailbox == "user" and u.mail]


def shift(moment: datetime, **delta: float) -> datetime:
    return moment + timedelta(**delta)


_ = parse_when
