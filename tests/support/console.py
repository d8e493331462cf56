"""Console test support: accounts of every role, a probe definition type, a seeded directory,
and the console served by uvicorn in a thread (for schemathesis and the browser)."""

from __future__ import annotations

import functools
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import uvicorn
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import Session

from tenantsync.engine import housekeeping
from tenantsync.engine.feature import ChangeList, Limits, NothingMissing
from tenantsync.engine.guard import RemovalLimits
from tenantsync.engine.plan import Change, Plan
from tenantsync.engine.registry import DefinitionType, Registry
from tenantsync.engine.run import RunContext
from tenantsync.errors import SourceError
from tenantsync.store.accounts import hash_password
from tenantsync.store.database import Database
from tenantsync.store.models import (
    ConsoleAccount,
    DelegateGrant,
    Domain,
    GroupKind,
    Mailbox,
    MailboxAlias,
    MailboxKind,
    PolicyGroup,
    Right,
    Role,
    Run,
    RunStatus,
    SourceGroup,
    SourceGroupClosure,
    Trigger,
)
from tenantsync.timeutil import utcnow
from tests.support.factory import make_org, make_task

PASSWORD = "correct horse battery staple"
EMAILS = {
    Role.SUPER_ADMIN: "root@example.com",
    Role.ADMIN: "admin@example.com",
    Role.READ_ONLY: "reader@example.com",
}


class ProbeOptions(BaseModel):
    """Options of the probe type: how big a plan it makes and whether it fails."""

    model_config = ConfigDict(extra="forbid")

    additions: int = Field(default=2, ge=0, le=500, description="mailboxes the plan adds")
    removals: int = Field(default=0, ge=0, le=500, description="mailboxes the plan removes")
    threshold: int = Field(default=10, ge=1, description="removals allowed without confirmation")
    mode: Literal["quick", "thorough"] = Field(default="quick", description="how hard it looks")
    fail_with: str | None = Field(default=None, description="fail every run with this message")
    weights: dict[str, int] = Field(default_factory=dict, description="per-kind weights")

    @model_validator(mode="after")
    def quick_probes_stay_small(self) -> ProbeOptions:
        if self.mode == "quick" and self.removals > 300:
            raise ValueError("a quick probe removes at most 300 mailboxes")
        return self


class Probe:
    """A feature whose plan the options dictate: additions, removals under a guard, failures.
    It goes through the same pipeline as every real feature."""

    def limits(self, options: object) -> Limits | None:
        return None

    def read(self, ctx: RunContext, source: object, *, full: str | None = None) -> ProbeReading:
        options = ctx.options
        assert isinstance(options, ProbeOptions)
        if options.fail_with:
            raise SourceError(options.fail_with)
        return ProbeReading(full=full)

    def plan(self, ctx: RunContext, session: Session, reading: ProbeReading) -> ProbePlan:
        options = ctx.options
        assert isinstance(options, ProbeOptions)
        plan = Plan()
        for i in range(options.additions):
            plan.add(Change("add", "mailbox", f"new{i}@contoso.example", "in the source"))
        for i in range(options.removals):
            plan.add(Change("remove", "mailbox", f"old{i}@contoso.example", "gone from the source"))
        counts: dict[str, object] = {
            "added": options.additions,
            "removed": options.removals,
            "read": "delta" if reading.full is None else "full",
        }
        limits = RemovalLimits("mailboxes", max_percent=100, max_count=options.threshold)
        return ProbePlan(plan, counts, limits=limits)

    def apply(self, ctx: RunContext, session: Session, planned: ProbePlan) -> None:
        """The probe changes nothing but the run's change records."""


@dataclass
class ProbeReading(NothingMissing):
    """Nothing read, and why the run asked for everything (None: it did not)."""

    full: str | None = None


@dataclass
class ProbePlan(ChangeList):
    """A change list whose removals the guard counts."""

    def removal_keys(self) -> list[str]:
        return [c.key for c in self.plan.of("remove")]


PROBE = DefinitionType(
    name="probe", title="Probe (tests)", options_model=ProbeOptions, feature=Probe()
)


def console_registry() -> Registry:
    """The types console tests run: housekeeping, and the probe to steer outcomes."""
    return Registry([housekeeping.DEFINITION_TYPE, PROBE])


@functools.cache
def _password_hash() -> str:
    return hash_password(PASSWORD)


def seed_accounts(db: Database) -> None:
    """One account of each role, all with :data:`PASSWORD` (hashed once per test session)."""
    with db.session() as session:
        for role, email in EMAILS.items():
            session.add(ConsoleAccount(email=email, password_hash=_password_hash(), role=role))


@dataclass(frozen=True)
class Seeded:
    """Ids of the seeded directory."""

    org_id: int
    domain_id: int
    user_id: int
    shared_id: int
    room_id: int
    removed_id: int
    group_id: int
    task_id: int
    failed_run_id: int
    grant_id: int


def seed_directory(db: Database) -> Seeded:
    """An organization with mailboxes of several kinds, a group, delegate grants,
    a task whose last run failed — rows as a sync would leave them."""
    now = utcnow()
    with db.session() as session:
        org = make_org(session, "contoso")
        domain = Domain(organization_id=org.id, name="contoso.example")
        session.add(domain)
        main = session.query(PolicyGroup).filter_by(organization_id=org.id).one()

        def mailbox(address: str, kind: MailboxKind, licensed: bool, name: str) -> Mailbox:
            m = Mailbox(
                organization_id=org.id,
                primary_address=address,
                display_name=name,
                kind=kind,
                licensed=licensed,
                policy_group_id=main.id,
                source_dn=f"CN={name},OU=Staff,DC=contoso,DC=example",
            )
            session.add(m)
            return m

        user = mailbox("adele@contoso.example", MailboxKind.USER, True, "Adele Vance")
        shared = mailbox("info@contoso.example", MailboxKind.SHARED, False, "Info Desk")
        room = mailbox("room1@contoso.example", MailboxKind.ROOM, False, "Room One")
        removed = mailbox("gone@contoso.example", MailboxKind.USER, True, "Gone Person")
        removed.deleted_at = now - timedelta(days=1)
        removed.restore_until = now + timedelta(days=29)
        session.flush()
        session.add(
            MailboxAlias(organization_id=org.id, mailbox_id=user.id, address="av@contoso.example")
        )
        group = SourceGroup(
            organization_id=org.id,
            source_id="g-1",
            name="Helpdesk",
            mail="helpdesk@contoso.example",
            dn="CN=Helpdesk,OU=Groups,DC=contoso,DC=example",
            kind=GroupKind.SECURITY,
        )
        session.add(group)
        session.flush()
        session.add(SourceGroupClosure(group_id=group.id, mailbox_id=user.id))
        task = make_task(
            session,
            org,
            "nightly probe",
            type_="probe",
            options={"fail_with": "tenant unreachable: 503 from graph"},
            interval_seconds=3600,
        )
        failed = Run(
            task_id=task.id,
            trigger=Trigger.SCHEDULE,
            status=RunStatus.FAILED,
            started_at=now - timedelta(minutes=5),
            finished_at=now - timedelta(minutes=4),
            error="tenant unreachable: 503 from graph",
        )
        session.add(failed)
        session.flush()
        grant = DelegateGrant(
            organization_id=org.id,
            mailbox_id=shared.id,
            delegate_id=user.id,
            right=Right.FULL_ACCESS,
            origin_task_id=task.id,
            via_group_id=group.id,
            run_id=failed.id,
        )
        session.add(grant)
        session.flush()
        return Seeded(
            org_id=org.id,
            domain_id=domain.id,
            user_id=user.id,
            shared_id=shared.id,
            room_id=room.id,
            removed_id=removed.id,
            group_id=group.id,
            task_id=task.id,
            failed_run_id=failed.id,
            grant_id=grant.id,
        )


def routes_of(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, routers included (HEAD left out)."""
    found = set()
    for route in iter_route_contexts(app.routes):
        if route.path is None or not route.methods:
            continue
        for method in route.methods - {"HEAD"}:
            found.add((method, route.path))
    return sorted(found, key=lambda mp: (mp[1], mp[0]))


def fill(path: str, value: str = "1") -> str:
    """A route path with every parameter replaced by ``value``."""
    return re.sub(r"\{[^}]+\}", value, path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free local port; yields the base URL."""
    port = _free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="console-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the console did not start within 10 seconds")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
