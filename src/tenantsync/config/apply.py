"""Applying a configuration document to the store: check everything, then write in one go."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.config.loader import LoadedDocument
from tenantsync.config.schema import ConnectionSpec, OrganizationSpec, SecretRef
from tenantsync.engine.registry import Registry
from tenantsync.engine.scope import Findings, SyncedDirectory, check_options, check_scope
from tenantsync.errors import ConfigError, TenantSyncError
from tenantsync.store.directory import create_organization
from tenantsync.store.models import (
    Connection,
    Definition,
    Domain,
    Organization,
    Schedule,
    ScheduledTask,
)
from tenantsync.store.secret_binding import check_connection_change
from tenantsync.store.secretbox import SecretBox
from tenantsync.worker.scheduler import arm
from tenantsync.worker.timing import Timing


@dataclass
class ApplyReport:
    """What an apply created, updated and left unchanged, as ``kind name`` lines, and notes
    on what it could not check yet, as ``file:line: field: note`` lines."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def note(self, outcome: str, what: str) -> None:
        getattr(self, outcome).append(what)


def resolve_secret(ref: SecretRef) -> str:
    """The value a secret reference points at."""
    if ref.env is not None:
        value = os.environ.get(ref.env)
        if not value:
            raise ConfigError(f"environment variable {ref.env} is not set")
        return value
    assert ref.file is not None
    try:
        return Path(ref.file).expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read secret file {ref.file}: {exc.strerror}") from exc


def connection_secret(spec: ConnectionSpec) -> dict[str, str]:
    """The resolved secret material of a connection."""
    return {key: resolve_secret(ref) for key, ref in spec.secret_refs().items()}


def check_document(loaded: LoadedDocument, registry: Registry) -> None:
    """Every check that needs no database: references, options, timings, secrets."""
    organizations = loaded.document.organizations
    _unique(loaded, ("organizations",), [org.name for org in organizations])
    for i, org in enumerate(organizations):
        base = ("organizations", i)
        _unique(loaded, (*base, "domains"), org.domains, key=None)
        for kind in ("connections", "definitions", "schedules", "tasks"):
            _unique(loaded, (*base, kind), [item.name for item in getattr(org, kind)])
        for j, conn in enumerate(org.connections):
            _at(loaded, (*base, "connections", j), lambda c=conn: connection_secret(c))
        for j, dspec in enumerate(org.definitions):
            _at(
                loaded,
                (*base, "definitions", j, "options"),
                lambda d=dspec: registry.validate_options(d.type, d.options),
            )
        for j, sched in enumerate(org.schedules):
            timing = Timing(
                interval_seconds=sched.interval_seconds,
                cron=sched.cron,
                timezone=sched.timezone,
                window_start=sched.window.start if sched.window else None,
                window_end=sched.window.end if sched.window else None,
            )
            _check_timing(loaded, (*base, "schedules", j), timing)
        definitions = {d.name: d for d in org.definitions}
        schedules = {s.name for s in org.schedules}
        connections = {c.name: c for c in org.connections}
        for j, task in enumerate(org.tasks):
            loc = (*base, "tasks", j)
            definition = definitions.get(task.definition)
            if definition is None:
                _fail(
                    loaded, (*loc, "definition"), f"no definition {task.definition!r} in {org.name}"
                )
            if task.schedule is not None and task.schedule not in schedules:
                _fail(loaded, (*loc, "schedule"), f"no schedule {task.schedule!r} in {org.name}")
            if task.connection is not None and task.connection not in connections:
                _fail(
                    loaded, (*loc, "connection"), f"no connection {task.connection!r} in {org.name}"
                )
            assert definition is not None
            dtype = _at(loaded, (*loc, "definition"), lambda d=definition: registry.get(d.type))
            if dtype.needs_connection and task.connection is None:
                _fail(loaded, (*loc, "connection"), f"a {dtype.name} task needs a connection")
            if dtype.needs_connection and task.connection is not None:
                kind_of_connection = connections[task.connection].connection_kind
                _at(
                    loaded,
                    (*loc, "connection"),
                    lambda k=kind_of_connection, t=dtype.name: k.require_serves(t),
                )


def _unique(
    loaded: LoadedDocument, where: tuple[Any, ...], names: list[str], key: str | None = "name"
) -> None:
    """Refuse the second of two list items with one name (``key`` None: the items are the
    names), pointing at both lines."""
    first: dict[str, int] = {}
    for j, name in enumerate(names):
        loc = (*where, j, key) if key else (*where, j)
        if name in first:
            earlier = (*where, first[name], key) if key else (*where, first[name])
            _fail(loaded, loc, f"{name!r} appears twice (first on line {loaded.line(*earlier)})")
        first[name] = j


def check_references(session: Session, loaded: LoadedDocument, registry: Registry) -> list[str]:
    """Task scopes and filter rules against the groups synced into each organization; the
    notes say what cannot be checked before the organization's first sync."""
    notes: list[str] = []
    for i, org in enumerate(loaded.document.organizations):
        base = ("organizations", i)
        org_id = session.scalar(select(Organization.id).where(Organization.name == org.name))
        directory = SyncedDirectory(session, org_id)
        for j, dspec in enumerate(org.definitions):
            options = registry.validate_options(dspec.type, dspec.options)
            at_options = (*base, "definitions", j, "options")
            found = check_options(directory, options, also_domains=org.domains)
            notes += _findings(loaded, at_options, found)
        for j, task in enumerate(org.tasks):
            if task.scope != "all":
                kind, value = task.scope.kind_value()
                at_scope = (*base, "tasks", j, "scope", kind)
                notes += _findings(loaded, at_scope, check_scope(directory, kind, value))
    return notes


def _findings(loaded: LoadedDocument, base: tuple[Any, ...], found: Findings) -> list[str]:
    """Fail at the first problem; otherwise the notes as ``file:line: field: note``."""
    for loc, message in found.problems:
        _fail(loaded, (*base, *loc), message)
    return [
        f"{loaded.where(*base, *loc)}: {loaded.path(*base, *loc)}: {message}"
        for loc, message in found.notes
    ]


def _check_timing(loaded: LoadedDocument, loc: tuple[Any, ...], timing: Timing) -> None:
    """Point a refused schedule at the key that is wrong (cron, interval, timezone, window)."""
    try:
        timing.validate()
    except ConfigError as exc:
        key = exc.field if exc.field in {"cron", "interval", "timezone", "window"} else None
        message = str(exc).removeprefix(f"{exc.field}: ") if exc.field else str(exc)
        _fail(loaded, (*loc, key) if key else loc, message)


def _at(loaded: LoadedDocument, loc: tuple[Any, ...], check: Any) -> Any:
    try:
        return check()
    except TenantSyncError as exc:
        _fail(loaded, loc, str(exc))


def _fail(loaded: LoadedDocument, loc: tuple[Any, ...], message: str) -> None:
    raise ConfigError(f"{loaded.path(*loc)}: {message}", where=loaded.where(*loc))


def apply_document(
    session: Session, loaded: LoadedDocument, registry: Registry, box: SecretBox
) -> ApplyReport:
    """Create or update everything the document names; nothing is written if any check fails."""
    check_document(loaded, registry)
    report = ApplyReport(notes=check_references(session, loaded, registry))
    for org_spec in loaded.document.organizations:
        _apply_org(session, org_spec, box, report)
    session.flush()
    return report


def _apply_org(
    session: Session, spec: OrganizationSpec, box: SecretBox, report: ApplyReport
) -> None:
    org = session.scalar(select(Organization).where(Organization.name == spec.name))
    if org is None:
        org = create_organization(session, spec.name, spec.display_name)
        report.note("created", f"organization {spec.name}")
    elif spec.display_name and org.display_name != spec.display_name:
        org.display_name = spec.display_name
        report.note("updated", f"organization {spec.name}")
    have = {d.name for d in org.domains}
    for name in spec.domains:
        if name not in have:
            session.add(Domain(organization_id=org.id, name=name))
            report.note("created", f"domain {name}")
    for conn in spec.connections:
        params, secret = conn.params(), connection_secret(conn)
        # The file's secret then replaces the stored one entirely (see _upsert).
        check_connection_change(session, org.id, conn.name, conn.connection_kind, params, secret)
        _upsert(
            session,
            report,
            Connection,
            org.id,
            conn.name,
            "connection",
            {"kind": conn.kind, "params": params, "secret_ref": conn.secret_ref()},
            secret=(box, secret),
        )
    definitions = {
        d.name: _upsert(
            session,
            report,
            Definition,
            org.id,
            d.name,
            "definition",
            {"type": d.type, "options": d.options},
        )
        for d in spec.definitions
    }
    schedules = {
        s.name: _upsert(
            session,
            report,
            Schedule,
            org.id,
            s.name,
            "schedule",
            {
                "interval_seconds": s.interval_seconds,
                "cron": s.cron,
                "timezone": s.timezone,
                "window_start": s.window.start if s.window else None,
                "window_end": s.window.end if s.window else None,
            },
        )
        for s in spec.schedules
    }
    connections = {
        c.name: c
        for c in session.scalars(select(Connection).where(Connection.organization_id == org.id))
    }
    session.flush()
    for t in spec.tasks:
        scope_kind, scope_value = ("all", None) if t.scope == "all" else t.scope.kind_value()
        schedule = schedules.get(t.schedule) if t.schedule else None
        task, outcome = _upsert_row(
            session,
            ScheduledTask,
            org.id,
            t.name,
            {
                "definition_id": definitions[t.definition].id,
                "schedule_id": schedule.id if schedule else None,
                "connection_id": connections[t.connection].id if t.connection else None,
                "scope_kind": scope_kind,
                "scope_value": scope_value,
                "enabled": t.enabled,
            },
        )
        if outcome != "unchanged" or task.next_due_at is None:
            arm(task, schedule)
        report.note(outcome, f"task {t.name}")


def _upsert(
    session: Session,
    report: ApplyReport,
    model: Any,
    org_id: int,
    name: str,
    kind: str,
    values: dict[str, Any],
    *,
    secret: tuple[SecretBox, dict[str, str]] | None = None,
) -> Any:
    row, outcome = _upsert_row(session, model, org_id, name, values)
    if secret is not None:
        box, material = secret
        if row.secret_ciphertext is None or box.decrypt(row.secret_ciphertext) != material:
            row.secret_ciphertext = box.encrypt(material)
            outcome = "created" if outcome == "created" else "updated"
    report.note(outcome, f"{kind} {name}")
    return row


def _upsert_row(
    session: Session, model: Any, org_id: int, name: str, values: dict[str, Any]
) -> tuple[Any, str]:
    row = session.scalar(select(model).where(model.organization_id == org_id, model.name == name))
    if row is None:
        row = model(organization_id=org_id, name=name, **values)
        session.add(row)
        session.flush()
        return row, "created"
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return row, "updated" if changed else "unchanged"
