"""Runs of mailbox permission sync tasks against a sandbox tenant, through the worker.

The sandbox app is served in-process (httpx ASGI transport) for speed; one test goes over
HTTPS on loopback. Each run gets a fresh app over the same tenant, so changes made to the
tenant between runs are what the next run reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from tenantsync.connectors.http import HttpOptions
from tenantsync.engine.permission_sync import DEFINITION_TYPE
from tenantsync.engine.registry import Registry
from tenantsync.engine.sources import Sources
from tenantsync.sandbox import SandboxTenant, asgi_transport, create_app
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import (
    Connection,
    DelegateGrant,
    Mailbox,
    Organization,
    Run,
    ScheduledTask,
    SourceGroup,
    Trigger,
)
from tenantsync.store.secretbox import SecretBox
from tenantsync.worker import queue
from tenantsync.worker.runner import Worker
from tests.integration.permission_sync.tenant_rows import Loaded, load_tenant
from tests.support.factory import make_org, make_task

SANDBOX = "https://sandbox"


@dataclass
class RunResult:
    """A finished run as the store recorded it."""

    id: int
    status: str
    counts: dict[str, Any]
    messages: list[dict[str, Any]]
    error: str | None
    plan: dict[str, Any] | None

    def warnings(self) -> list[str]:
        return [m["text"] for m in self.messages if m["level"] == "warning"]


@dataclass
class Harness:
    """One organization loaded from a sandbox tenant, with its connection and tasks."""

    db: Database
    settings: Settings
    tenant: SandboxTenant
    organization_id: int = 0
    connection_id: int = 0
    loaded: Loaded = field(default_factory=Loaded)
    app_options: dict[str, Any] = field(default_factory=dict)
    client_index: int = 0
    retries: HttpOptions | None = None
    organization_name: str = "contoso"

    def setup(self) -> Harness:
        box = SecretBox.from_key_file(self.settings.effective_key_file, create=True)
        client = self.tenant.clients[self.client_index]
        with self.db.session() as s:
            org: Organization = make_org(s, self.organization_name)
            self.organization_id = org.id
            self.loaded = load_tenant(s, org.id, self.tenant)
            connection = Connection(
                organization_id=org.id,
                name="sandbox",
                kind="m365",
                params={
                    "tenant_id": self.tenant.tenant_id,
                    "client_id": client.client_id,
                    "authority_host": SANDBOX,
                    "graph_url": SANDBOX,
                    "exchange_url": SANDBOX,
                },
                secret_ciphertext=box.encrypt({"client_secret": client.client_secret}),
            )
            s.add(connection)
            s.flush()
            self.connection_id = connection.id
        return self

    def use_client(self, index: int) -> None:
        """Switch the connection to another app registration of the tenant."""
        box = SecretBox.from_key_file(self.settings.effective_key_file)
        client = self.tenant.clients[index]
        with self.db.session() as s:
            connection = s.get_one(Connection, self.connection_id)
            connection.params = {**connection.params, "client_id": client.client_id}
            connection.secret_ciphertext = box.encrypt({"client_secret": client.client_secret})

    def task(
        self, name: str, *, scope: str = "all", value: str | None = None, **options: Any
    ) -> int:
        """A mailbox permission sync task over the sandbox connection."""
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
        """Queue a run of the task and let a worker execute it against a fresh sandbox app."""
        transport = asgi_transport(create_app(self.tenant, **{"latency": 0, **self.app_options}))
        sources = Sources(transport=transport, retries=self.retries)
        worker = Worker(self.db, self.settings, Registry([DEFINITION_TYPE]), sources=sources)
        with self.db.session() as s:
            task = s.get_one(ScheduledTask, task_id)
            trigger = Trigger.PREVIEW if preview else Trigger.MANUAL
            run_id = queue.enqueue(s, task, trigger, confirm_removals=confirm_removals).id
        for _attempt in range(self.settings.run_attempts):
            # A transient failure queues the run again: attempts follow until it ends.
            assert worker.step(run_id)
            if self.result(run_id).status != "queued":
                break
        return self.result(run_id)

    def result(self, run_id: int) -> RunResult:
        with self.db.session() as s:
            run = s.get_one(Run, run_id)
            return RunResult(
                run.id, run.status.value, run.counts, run.messages, run.error, run.plan
            )

    def grants(self, origin: str | None = None) -> set[tuple[str, str, str]]:
        """(mailbox, delegate, right) of stored grants, of one origin when given."""
        return {(m, d, r) for m, d, r, _ in self.grant_rows(origin)}

    def grant_rows(self, origin: str | None = None) -> list[tuple[str, str, str, str | None]]:
        """(mailbox, delegate, right, via group name) of stored grants."""
        owner = Mailbox.__table__.alias("owner")
        delegate = Mailbox.__table__.alias("delegate")
        query = (
            select(
                owner.c.primary_address,
                delegate.c.primary_address,
                DelegateGrant.right,
                SourceGroup.name,
            )
            .join(owner, owner.c.id == DelegateGrant.mailbox_id)
            .join(delegate, delegate.c.id == DelegateGrant.delegate_id)
            .outerjoin(SourceGroup, SourceGroup.id == DelegateGrant.via_group_id)
        )
        if origin is not None:
            query = query.where(DelegateGrant.origin == origin)
        with self.db.session() as s:
            return [(m, d, r.value, g) for m, d, r, g in s.execute(query)]

    def address(self, user_id: str) -> str:
        mail = self.tenant.users[user_id].mail
        assert mail is not None
        return mail.lower()
