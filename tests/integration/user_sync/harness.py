"""A user sync set up the way an administrator does it: a configuration document applied
to the store, a generated sandbox tenant behind the connection, runs executed by a worker."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from starlette.applications import Starlette

from tenantsync.config.apply import apply_document
from tenantsync.config.loader import parse_document
from tenantsync.connectors.http import HttpOptions
from tenantsync.engine.registry import Registry
from tenantsync.engine.sources import Sources
from tenantsync.engine.user_sync import DEFINITION_TYPE
from tenantsync.sandbox import SandboxTenant, asgi_transport, parse_faults, sandbox_of
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.directory import find_task
from tenantsync.store.models import ChangeRecord, Definition, Mailbox, Run, RunStatus, Trigger
from tenantsync.store.secretbox import SecretBox
from tenantsync.worker import queue
from tenantsync.worker.runner import Worker

# Retries stay real, only quicker than production's half-second first backoff.
FAST_RETRIES = HttpOptions(max_concurrency=8, backoff_base=0.01, backoff_max=0.05)


@dataclass
class RunResult:
    """A finished run as the CLI and console show it."""

    id: int
    status: str
    counts: dict[str, Any]
    messages: list[dict[str, Any]]
    plan: dict[str, Any] | None
    error: str | None
    stop_reason: str | None = None
    review: list[str] | None = None
    attempts: int = 1
    attempt_log: list[Any] | None = None

    def texts(self) -> str:
        """Every message, one per line."""
        return "\n".join(m["text"] for m in self.messages)


def document(
    tenant: SandboxTenant,
    secret_file: Path,
    options: dict[str, Any],
    scope: dict[str, str] | str = "all",
    client: int = 0,
) -> str:
    """The YAML an administrator writes for this tenant (JSON is valid YAML)."""
    connection = {
        "name": "m365",
        "kind": "m365",
        "tenant_id": tenant.tenant_id,
        "client_id": tenant.clients[client].client_id,
        "client_secret": {"file": str(secret_file)},
        "authority_host": "https://sandbox",
        "graph_url": "https://sandbox",
        "exchange_url": "https://sandbox",
    }
    org = {
        "name": "proseware",
        "domains": list(tenant.domains),
        "connections": [connection],
        "definitions": [{"name": "users", "type": "user_sync", "options": options}],
        "tasks": [{"name": "users", "definition": "users", "connection": "m365", "scope": scope}],
    }
    return json.dumps({"organizations": [org]}, indent=2)


class UserSync:
    """The ``users`` task of organization ``proseware`` against one sandbox app."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        tenant: SandboxTenant,
        app: Starlette,
        tmp_path: Path,
        options: dict[str, Any] | None = None,
        scope: dict[str, str] | str = "all",
        client: int = 0,
    ) -> None:
        self.db = db
        self.settings = settings
        self.tenant = tenant
        self.app = app
        secret_file = tmp_path / "client-secret.txt"
        secret_file.write_text(tenant.clients[client].client_secret, encoding="utf-8")
        loaded = parse_document(
            document(tenant, secret_file, options or {}, scope, client),
            str(tmp_path / "tenantsync.yaml"),
        )
        box = SecretBox.from_key_file(settings.effective_key_file, create=True)
        with db.session() as session:
            apply_document(session, loaded, Registry([DEFINITION_TYPE]), box)
        sources = Sources(transport=asgi_transport(app), retries=FAST_RETRIES)
        self.worker = Worker(db, settings, Registry([DEFINITION_TYPE]), sources=sources)

    def set_faults(self, spec: str | None) -> None:
        """Inject faults into the running sandbox from now on (None: no more faults)."""
        sandbox_of(self.app).gate.rules = parse_faults(spec)

    def set_options(self, **options: Any) -> None:
        """Change the definition's options (as re-applying the YAML would)."""
        with self.db.session() as session:
            definition = session.scalars(select(Definition)).one()
            definition.options = {**definition.options, **options}

    def run(
        self, *, preview: bool = False, confirm_removals: bool = False, confirms: int | None = None
    ) -> RunResult:
        """Queue a run of the task (one confirming the stopped run ``confirms``) and execute
        it here; its result."""
        with self.db.session() as session:
            task = find_task(session, "users")
            trigger = Trigger.PREVIEW if preview else Trigger.MANUAL
            run_id = queue.enqueue(
                session,
                task,
                trigger,
                requested_by="test",
                confirm_removals=confirm_removals,
                confirms_run_id=confirms,
            ).id
        for _attempt in range(self.settings.run_attempts):
            # A transient failure queues the run again: attempts follow until it ends.
            self.worker.step(run_id)
            with self.db.session() as session:
                if session.get_one(Run, run_id).status is not RunStatus.QUEUED:
                    break
        with self.db.session() as session:
            run = session.get(Run, run_id)
            assert run is not None
            return RunResult(
                run.id,
                run.status.value,
                run.counts,
                run.messages,
                run.plan,
                run.error,
                run.stop_reason,
                run.review,
                run.attempts,
                run.attempt_log,
            )

    def mailboxes(self, *, active: bool = True) -> dict[str, Mailbox]:
        """Stored mailboxes by source id (detached)."""
        with self.db.session() as session:
            query = select(Mailbox)
            if active:
                query = query.where(Mailbox.deleted_at.is_(None))
            rows = list(session.scalars(query))
            for row in rows:
                _ = row.aliases, row.policy_group
            session.expunge_all()
        return {m.source_id or str(m.id): m for m in rows}

    def change_records(self, run_id: int) -> list[ChangeRecord]:
        """The change records of one run."""
        with self.db.session() as session:
            rows = list(session.scalars(select(ChangeRecord).where(ChangeRecord.run_id == run_id)))
            session.expunge_all()
        return rows

    def where(self, predicate: Callable[[Mailbox], bool]) -> list[Mailbox]:
        """Active mailboxes matching ``predicate``."""
        return [m for m in self.mailboxes().values() if predicate(m)]
