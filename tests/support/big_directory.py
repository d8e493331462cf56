"""A store of real size in seconds: an organization's mailboxes written straight into the
store (no sync), named as the sandbox generator names people, and a run with many changes.

For the tables' browser and integration tests and bench/console.py: a 100,000-mailbox sync
would take minutes, and what is measured here is the console reading what a sync wrote.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from sqlalchemy import Table, select

from tenantsync.engine.plan import Change
from tenantsync.model.directory import Location
from tenantsync.sandbox import names
from tenantsync.sandbox.generator import mailbox_kinds
from tenantsync.store.bulk import BulkWriter
from tenantsync.store.changes import record_changes
from tenantsync.store.database import Database
from tenantsync.store.models import (
    Mailbox,
    MailboxAlias,
    MailboxKind,
    Organization,
    PolicyGroup,
    Run,
    RunStatus,
    Trigger,
)
from tenantsync.store.search import searchable
from tenantsync.timeutil import utcnow
from tests.support.factory import make_org, make_task

POLICY_GROUPS = ("Sales", "Support", "Engineering")
COLUMNS = (
    "organization_id",
    "primary_address",
    "display_name",
    "kind",
    "location",
    "licensed",
    "enabled",
    "policy_group_id",
    "source_id",
    "attributes",
    "first_seen",
    "last_seen",
    "deleted_at",
    "restore_until",
    "search_text",
)


@dataclass(frozen=True)
class BigOrg:
    """What was written: the organization, its task and the run with many changes."""

    org_id: int
    task_id: int
    run_id: int | None
    mailboxes: int
    removed: int


def person(index: int, rng: random.Random) -> tuple[str, str]:
    """(display name, local part) of the ``index``-th person, named as the sandbox does."""
    given, surname = rng.choice(names.GIVEN_NAMES), rng.choice(names.SURNAMES)
    local = f"{names.ascii_fold(given)}.{names.ascii_fold(surname)}".lower().replace(" ", "")
    return f"{given} {surname}", f"{local}.{index}"


def alias_of(index: int, address: str) -> str | None:
    """The alias of the ``index``-th mailbox, if it has one (one in ten does)."""
    return "alt." + address if index % 10 == 0 else None


def fill_mailboxes(
    db: Database, org_id: int, count: int, *, seed: int = 1, removed_every: int = 50
) -> int:
    """``count`` mailboxes in the organization (every ``removed_every``-th one removed, one in
    ten with an alias, spread over policy groups); how many are removed."""
    rng = random.Random(seed)
    now = utcnow()
    with db.session() as session:
        domain = session.get_one(Organization, org_id).name + ".example"
        groups = [
            session.scalar(select(PolicyGroup.id).where(PolicyGroup.organization_id == org_id))
        ]
        for name in POLICY_GROUPS:
            group = PolicyGroup(organization_id=org_id, name=name)
            session.add(group)
            session.flush()
            groups.append(group.id)
        writer = BulkWriter(session, cast(Table, Mailbox.__table__), COLUMNS)
        cloud = writer.bind("location", Location.CLOUD)
        kinds = {k: writer.bind("kind", k) for k in MailboxKind}
        seen = writer.bind("last_seen", now - timedelta(days=1))
        gone = writer.bind("deleted_at", now - timedelta(days=2))
        until = writer.bind("restore_until", now + timedelta(days=28))
        empty = writer.bind("attributes", {})
        rows = []
        removed = 0
        for i, kind in enumerate(mailbox_kinds(count, rng)):
            display, local = person(i, rng)
            address = f"{local}@{domain}"
            is_removed = removed_every > 0 and i % removed_every == removed_every - 1
            removed += is_removed
            first = writer.bind("first_seen", now - timedelta(days=400, minutes=i))
            rows.append(
                (
                    org_id,
                    address,
                    display,
                    kinds[MailboxKind(kind)],
                    cloud,
                    kind == "user" and rng.random() < 0.9,
                    rng.random() > 0.03,
                    groups[i % len(groups)],
                    f"src-{org_id}-{i}",
                    empty,
                    first,
                    seen,
                    gone if is_removed else None,
                    until if is_removed else None,
                    searchable(display, address, alias_of(i, address)),
                )
            )
        writer.write(rows)
        ids = session.execute(
            select(Mailbox.id, Mailbox.primary_address)
            .where(Mailbox.organization_id == org_id)
            .order_by(Mailbox.id)
        ).all()
        alias_columns = ("organization_id", "mailbox_id", "address")
        aliases = BulkWriter(session, cast(Table, MailboxAlias.__table__), alias_columns)
        aliases.write(
            (org_id, mid, alias)
            for n, (mid, address) in enumerate(ids)
            if (alias := alias_of(n, address)) is not None
        )
    return removed


def big_org(db: Database, name: str, mailboxes: int, *, changes: int = 0, seed: int = 1) -> BigOrg:
    """An organization with ``mailboxes`` mailboxes and, with ``changes``, a finished user
    sync run that recorded that many mailbox changes."""
    with db.session() as session:
        org = make_org(session, name)
        task = make_task(session, org, f"{name} users", type_="user_sync")
        org_id, task_id = org.id, task.id
    removed = fill_mailboxes(db, org_id, mailboxes, seed=seed)
    run_id = None
    if changes:
        run_id = changed_run(db, org_id, task_id, changes)
    return BigOrg(org_id, task_id, run_id, mailboxes, removed)


def changed_run(db: Database, org_id: int, task_id: int, changes: int) -> int:
    """A succeeded run of the task with ``changes`` change records on the org's mailboxes."""
    now = utcnow()
    with db.session() as session:
        run = Run(
            task_id=task_id,
            trigger=Trigger.SCHEDULE,
            status=RunStatus.SUCCEEDED,
            started_at=now - timedelta(minutes=3),
            finished_at=now - timedelta(minutes=1),
            counts={"mailboxes_updated": changes},
        )
        session.add(run)
        session.flush()
        addresses = session.scalars(
            select(Mailbox.primary_address)
            .where(Mailbox.organization_id == org_id)
            .order_by(Mailbox.id)
            .limit(changes)
        ).all()
        record_changes(
            session,
            (
                Change(
                    "update",
                    "mailbox",
                    addresses[i % len(addresses)],
                    "changed in the source",
                    {"display_name": "Before"},
                    {"display_name": "After"},
                )
                for i in range(changes)
            ),
            run_id=run.id,
            organization_id=org_id,
            actor=f"task:{task_id}",
        )
        return run.id
