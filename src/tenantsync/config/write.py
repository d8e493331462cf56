"""Writing one organization of a checked configuration document, noting what changed.

A task may name a connection, definition or schedule the file does not declare: it is the
organization's stored one of that name (the checks made sure it exists).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.config.diff import (
    FieldChange,
    ObjectDiff,
    compare,
    connection_view,
    definition_view,
    schedule_view,
    task_view,
)
from tenantsync.config.schema import (
    ConnectionSpec,
    DefinitionSpec,
    OrganizationSpec,
    ScheduleSpec,
    TaskSpec,
)
from tenantsync.engine.registry import Registry
from tenantsync.store.directory import create_organization
from tenantsync.store.models import (
    Connection,
    Definition,
    Domain,
    Organization,
    Schedule,
    ScheduledTask,
)
from tenantsync.store.secretbox import SecretBox
from tenantsync.worker.scheduler import arm
from tenantsync.worker.timing import parse_weekdays, weekdays_text


class OrgWriter:
    """Creates or updates what one organization entry names; every object's diff is kept."""

    def __init__(
        self, session: Session, registry: Registry, box: SecretBox, spec: OrganizationSpec
    ) -> None:
        self.session = session
        self.registry = registry
        self.box = box
        self.spec = spec
        self.diffs: list[ObjectDiff] = []
        self.org = self._organization()

    def write(self, secrets: Mapping[str, dict[str, str]]) -> list[ObjectDiff]:
        """Write the entry (``secrets``: each connection's resolved secrets); the diffs."""
        for conn in self.spec.connections:
            self._connection(conn, secrets[conn.name])
        for definition in self.spec.definitions:
            self._definition(definition)
        for schedule in self.spec.schedules:
            self._schedule(schedule)
        self.session.flush()
        for task in self.spec.tasks:
            self._task(task)
        return self.diffs

    def _organization(self) -> Organization:
        spec = self.spec
        org = self.session.scalar(select(Organization).where(Organization.name == spec.name))
        diff = ObjectDiff("organization", spec.name, spec.name, "unchanged")
        if org is None:
            org = create_organization(self.session, spec.name, spec.display_name)
            diff.action = "created"
            before_domains: list[str] = []
            diff.changes = compare(None, {"display_name": org.display_name})
        else:
            before_domains = sorted(d.name for d in org.domains)
            if spec.display_name and org.display_name != spec.display_name:
                diff.changes = compare(
                    {"display_name": org.display_name}, {"display_name": spec.display_name}
                )
                org.display_name = spec.display_name
        added = [name for name in spec.domains if name not in before_domains]
        for name in added:
            self.session.add(Domain(organization_id=org.id, name=name))
        if added:
            after = sorted({*before_domains, *added})
            diff.changes += compare({"domains": before_domains}, {"domains": after})
        if diff.action == "unchanged" and diff.changes:
            diff.action = "updated"
        self.diffs.append(diff)
        return org

    def _find(self, model: Any, name: str) -> Any:
        return self.session.scalar(
            select(model).where(model.organization_id == self.org.id, model.name == name)
        )

    def _note(self, kind: str, name: str, before: Any, after: Any, **kw: Any) -> None:
        changes = compare(before, after, **kw)
        action = "created" if before is None else ("updated" if changes else "unchanged")
        self.diffs.append(ObjectDiff(kind, name, self.org.name, action, changes))

    def _connection(self, spec: ConnectionSpec, resolved: dict[str, str]) -> None:
        conn = self._find(Connection, spec.name)
        old_secret: dict[str, str] = {}
        before = None
        if conn is None:
            conn = Connection(organization_id=self.org.id, name=spec.name)
            self.session.add(conn)
        else:
            if conn.secret_ciphertext is not None:
                old_secret = self.box.decrypt(conn.secret_ciphertext)
            before = connection_view(conn, sorted(old_secret))
        # The file's secrets replace the stored ones; {stored: true} keeps one as it is.
        material = {k: old_secret[k] for k in spec.stored_secrets() if k in old_secret}
        material.update(resolved)
        conn.kind = spec.kind
        conn.params = spec.params()
        conn.secret_ref = spec.secret_ref() or None
        if material != old_secret or conn.secret_ciphertext is None:
            conn.secret_ciphertext = self.box.encrypt(material)
        self.session.flush()
        after = connection_view(conn, sorted(material))
        self._note("connection", spec.name, before, after)
        renewed = [k for k in resolved if k in old_secret and resolved[k] != old_secret[k]]
        if before is not None and renewed:
            diff = self.diffs[-1]
            for key in renewed:
                if before.get(key) == after.get(key):
                    diff.changes.append(FieldChange(key, after[key], after[key], "a new value"))
            diff.action = "updated" if diff.changes else diff.action

    def _definition(self, spec: DefinitionSpec) -> None:
        row = self._find(Definition, spec.name)
        before = None
        if row is None:
            row = Definition(organization_id=self.org.id, name=spec.name, type=spec.type)
            self.session.add(row)
        else:
            before, _ = definition_view(self.registry, row)
        row.type = spec.type
        row.options = self._stored_options(spec)
        after, defaults = definition_view(self.registry, row)
        self._note("definition", spec.name, before, after, defaults=defaults)

    def _stored_options(self, spec: DefinitionSpec) -> dict[str, Any]:
        """The options as given, in the form the console stores them (defaults implicit)."""
        parsed = self.registry.validate_options(spec.type, spec.options)
        return parsed.model_dump(mode="json", include=set(spec.options))

    def _schedule(self, spec: ScheduleSpec) -> None:
        row = self._find(Schedule, spec.name)
        before = None
        if row is None:
            row = Schedule(organization_id=self.org.id, name=spec.name)
            self.session.add(row)
        else:
            before = schedule_view(row)
        row.interval_seconds = spec.interval_seconds
        row.cron = spec.cron
        row.timezone = spec.timezone
        row.window_start = spec.window.start if spec.window else None
        row.window_end = spec.window.end if spec.window else None
        row.weekdays = weekdays_text(parse_weekdays(spec.weekdays_text))
        after = schedule_view(row)
        self._note("schedule", spec.name, before, after)

    def _task(self, spec: TaskSpec) -> None:
        definition = self._find(Definition, spec.definition)
        schedule = self._find(Schedule, spec.schedule) if spec.schedule else None
        connection = self._find(Connection, spec.connection) if spec.connection else None
        scope_kind, scope_value = ("all", None) if spec.scope == "all" else spec.scope.kind_value()
        row = self._find(ScheduledTask, spec.name)
        before = None
        if row is None:
            row = ScheduledTask(organization_id=self.org.id, name=spec.name)
            self.session.add(row)
        else:
            before = task_view(self.session, row)
        moved = row.schedule_id != (schedule.id if schedule else None)
        row.definition_id = definition.id
        row.schedule_id = schedule.id if schedule else None
        row.connection_id = connection.id if connection else None
        row.scope_kind = scope_kind
        row.scope_value = scope_value
        row.enabled = spec.enabled
        self.session.flush()
        after = task_view(self.session, row)
        self._note("task", spec.name, before, after)
        if before is None or moved or row.next_due_at is None:
            arm(row, schedule)
