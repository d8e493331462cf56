"""Checking a configuration document before anything is written: what needs no database
(names, options, timings, secrets), then what it names in the store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.config.loader import LoadedDocument
from tenantsync.config.schema import ConnectionSpec, OrganizationSpec, SecretRef
from tenantsync.connectors.kinds import connection_kind
from tenantsync.engine.registry import Registry
from tenantsync.engine.scope import Findings, SyncedDirectory, check_options, check_scope
from tenantsync.errors import ConfigError, TenantSyncError
from tenantsync.store.internal import is_internal
from tenantsync.store.models import Connection, Definition, Organization, Schedule
from tenantsync.store.secret_binding import moved_params, moved_secrets
from tenantsync.store.secretbox import SecretBox
from tenantsync.worker.timing import Timing, parse_weekdays


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
    """Every check that needs no database: names, options, timings, secrets."""
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
            weekdays = _at(
                loaded,
                (*base, "schedules", j, "weekdays"),
                lambda s=sched: parse_weekdays(s.weekdays_text),
            )
            timing = Timing(
                weekdays=weekdays,
                interval_seconds=sched.interval_seconds,
                cron=sched.cron,
                timezone=sched.timezone,
                window_start=sched.window.start if sched.window else None,
                window_end=sched.window.end if sched.window else None,
            )
            _check_timing(loaded, (*base, "schedules", j), timing)


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


def check_references(
    session: Session, loaded: LoadedDocument, registry: Registry, box: SecretBox
) -> list[str]:
    """What the file names in the store: the connections, definitions and schedules its
    tasks use (declared in the file or stored), secrets kept as stored, task scopes and
    filter rules against the groups synced into each organization; the notes say what
    cannot be checked before the organization's first sync."""
    notes: list[str] = []
    for i, org in enumerate(loaded.document.organizations):
        base = ("organizations", i)
        org_id = session.scalar(select(Organization.id).where(Organization.name == org.name))
        directory = SyncedDirectory(session, org_id)
        stored = StoredObjects(session, org_id)
        for j, conn in enumerate(org.connections):
            _check_stored_secrets(loaded, (*base, "connections", j), conn, stored, box)
        _check_tasks(loaded, base, org, stored, registry)
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


class StoredObjects:
    """An organization's stored connections, definitions and schedules, by name."""

    def __init__(self, session: Session, organization_id: int | None) -> None:
        self._session = session
        self._org = organization_id

    def get(self, model: Any, name: str) -> Any:
        """The stored row of ``model`` with this name, or None."""
        if self._org is None:
            return None
        return self._session.scalar(
            select(model).where(model.organization_id == self._org, model.name == name)
        )


def _check_tasks(
    loaded: LoadedDocument,
    base: tuple[Any, ...],
    org: OrganizationSpec,
    stored: StoredObjects,
    registry: Registry,
) -> None:
    """Each task's definition, schedule and connection: declared in the file or stored in
    the organization; a connection its type needs, of a kind that serves the type."""
    definitions = {d.name: d.type for d in org.definitions}
    connections = {c.name: c.kind for c in org.connections}
    schedules = {s.name for s in org.schedules}
    for j, task in enumerate(org.tasks):
        loc = (*base, "tasks", j)
        type_name = definitions.get(task.definition)
        if type_name is None:
            row = stored.get(Definition, task.definition)
            if row is None or is_internal(row.name):
                _fail(loaded, (*loc, "definition"), _missing("definition", task.definition, org))
            type_name = row.type
        if (
            task.schedule is not None
            and task.schedule not in schedules
            and stored.get(Schedule, task.schedule) is None
        ):
            _fail(loaded, (*loc, "schedule"), _missing("schedule", task.schedule, org))
        kind_name = None
        if task.connection is not None:
            kind_name = connections.get(task.connection)
            if kind_name is None:
                row = stored.get(Connection, task.connection)
                if row is None:
                    _fail(
                        loaded, (*loc, "connection"), _missing("connection", task.connection, org)
                    )
                kind_name = row.kind
        dtype = _at(loaded, (*loc, "definition"), lambda t=type_name: registry.get(t))
        if dtype.needs_connection and kind_name is None:
            _fail(loaded, (*loc, "connection"), f"a {dtype.name} task needs a connection")
        if dtype.needs_connection:
            _at(
                loaded,
                (*loc, "connection"),
                lambda k=kind_name, t=dtype.name: connection_kind(k).require_serves(t),
            )


def _missing(what: str, name: str, org: OrganizationSpec) -> str:
    return f"no {what} {name!r} in {org.name} (in this file or stored)"


def _check_stored_secrets(
    loaded: LoadedDocument,
    loc: tuple[Any, ...],
    spec: ConnectionSpec,
    stored: StoredObjects,
    box: SecretBox,
) -> None:
    """A secret given as ``{stored: true}`` must be stored with this connection, and stay
    where it was stored for; otherwise say what to give instead."""
    keys = spec.stored_secrets()
    if not keys:
        return
    conn = stored.get(Connection, spec.name)
    have: set[str] = set()
    if conn is not None and conn.secret_ciphertext is not None:
        have = set(_at(loaded, loc, lambda c=conn: box.decrypt(c.secret_ciphertext)))
    for key in keys:
        why = None
        if conn is None:
            why = f"this database has no connection {spec.name!r} yet"
        elif key not in have:
            why = f"connection {spec.name!r} has no {key} stored"
        elif key in _moved_keys(spec, conn):
            moved = moved_params(
                spec.connection_kind, conn.params, spec.params(), before_kind=conn.kind
            )
            why = f"it was stored for other values of {', '.join(moved)}"
        if why is not None:
            _fail(
                loaded,
                (*loc, key),
                f"{{stored: true}} keeps the {key} stored in this database, but {why}: give it as "
                f"{{env: VARIABLE}} or {{file: PATH}}",
            )


def _moved_keys(spec: ConnectionSpec, conn: Connection) -> set[str]:
    """The stored secrets the file's parameters would send somewhere new."""
    kind = spec.connection_kind
    moved = moved_params(kind, conn.params, spec.params(), before_kind=conn.kind)
    return {s.name for s in moved_secrets(kind, moved)}


def _findings(loaded: LoadedDocument, base: tuple[Any, ...], found: Findings) -> list[str]:
    """Fail at the first problem; otherwise the notes as ``file:line: field: note``."""
    for loc, message in found.problems:
        _fail(loaded, (*base, *loc), message)
    return [
        f"{loaded.where(*base, *loc)}: {loaded.path(*base, *loc)}: {message}"
        for loc, message in found.notes
    ]


def _check_timing(loaded: LoadedDocument, loc: tuple[Any, ...], timing: Timing) -> None:
    """Point a refused schedule at the key that is wrong (cron, interval, window, ...)."""
    try:
        timing.validate()
    except ConfigError as exc:
        key = (
            exc.field
            if exc.field in {"cron", "interval", "timezone", "window", "weekdays"}
            else None
        )
        message = str(exc).removeprefix(f"{exc.field}: ") if exc.field else str(exc)
        _fail(loaded, (*loc, key) if key else loc, message)


def _at(loaded: LoadedDocument, loc: tuple[Any, ...], check: Any) -> Any:
    try:
        return check()
    except TenantSyncError as exc:
        _fail(loaded, loc, str(exc))


def _fail(loaded: LoadedDocument, loc: tuple[Any, ...], message: str) -> None:
    raise ConfigError(f"{loaded.path(*loc)}: {message}", where=loaded.where(*loc))
