"""What `tenantsync apply` changes, field by field, in the file's own terms.

Each object an apply touches is seen before and after as the file would write it (a
task's definition by name, a schedule's interval as ``1h``, a definition's options with
their defaults filled in), so a field the file leaves out and that goes back to its default
shows as a change too: a definition's options in a file are its whole options. Secrets
show where they come from, never their values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from tenantsync.config.schema import format_interval
from tenantsync.connectors.kinds import connection_kind
from tenantsync.engine.registry import Registry
from tenantsync.errors import ConfigError
from tenantsync.store.models import Connection, Definition, Schedule, ScheduledTask

View = dict[str, Any]


@dataclass(frozen=True)
class FieldChange:
    """One field of an object: before and after (None: not set), and a note on why."""

    field: str
    before: Any
    after: Any
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """As ``apply --json`` and the audit log keep it."""
        out = {"field": self.field, "before": self.before, "after": self.after}
        return out | ({"note": self.note} if self.note else {})

    def line(self, created: bool) -> str:
        """``field: before → after`` (a new object: ``field: after``)."""
        after = _show(self.after)
        text = (
            f"{self.field}: {after}" if created else f"{self.field}: {_show(self.before)} → {after}"
        )
        return text + (f" ({self.note})" if self.note else "")


@dataclass
class ObjectDiff:
    """What an apply does to one object: created, updated or unchanged, and how."""

    kind: str
    name: str
    organization: str
    action: str
    changes: list[FieldChange] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``definition users`` (the report's name for the object)."""
        return f"{self.kind} {self.name}"

    def to_json(self) -> dict[str, Any]:
        """As ``apply --json`` and the audit log keep it."""
        return {
            "kind": self.kind,
            "name": self.name,
            "organization": self.organization,
            "action": self.action,
            "changes": [c.to_json() for c in self.changes],
        }

    def lines(self, *, would: bool = False) -> list[str]:
        """The object's header and one indented line per changed field."""
        verb = {"created": "create", "updated": "update"}.get(self.action, self.action)
        head = f"would {verb}" if would else self.action
        where = "" if self.kind == "organization" else f" (organization {self.organization})"
        created = self.action == "created"
        return [f"{head} {self.label}{where}"] + [
            "    " + change.line(created) for change in self.changes
        ]


def compare(
    before: View | None, after: View, *, defaults: frozenset[str] = frozenset()
) -> list[FieldChange]:
    """The fields that differ (every set field of a new object); ``defaults`` are the fields
    the file left out, which take their default."""
    changes = []
    for key in [*after, *(k for k in before or {} if k not in after)]:
        old = None if before is None else before.get(key)
        new = after.get(key)
        if before is None and new in (None, [], {}, ""):
            continue
        if before is not None and old == new:
            continue
        note = "not in the file: its default" if key in defaults and before is not None else ""
        changes.append(FieldChange(key, old, new, note))
    return changes


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def definition_view(registry: Registry, definition: Definition) -> tuple[View, frozenset[str]]:
    """A definition as the file sees it, every option with its value in effect, and the
    options that take their default."""
    view: View = {"type": definition.type}
    options: dict[str, Any] = dict(definition.options or {})
    try:
        effective: BaseModel = registry.validate_options(definition.type, options)
    except ConfigError:  # a stored definition this version no longer reads: as stored
        view.update({f"options.{k}": v for k, v in options.items()})
        return view, frozenset()
    dumped = effective.model_dump(mode="json")
    view.update({f"options.{k}": v for k, v in dumped.items()})
    return view, frozenset(f"options.{k}" for k in dumped if k not in options)


def schedule_view(schedule: Schedule) -> View:
    """A schedule as the file writes it."""
    window = None
    if schedule.window_start is not None and schedule.window_end is not None:
        window = f"{schedule.window_start:%H:%M}-{schedule.window_end:%H:%M}"
    return {
        "interval": None
        if schedule.interval_seconds is None
        else format_interval(schedule.interval_seconds),
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "window": window,
        "weekdays": schedule.weekdays,
    }


def task_view(session: Session, task: ScheduledTask) -> View:
    """A task as the file writes it: what it uses by name, its scope, whether enabled."""

    def name(model: Any, object_id: int | None) -> str | None:
        row = None if object_id is None else session.get(model, object_id)
        return None if row is None else str(row.name)

    return {
        "definition": name(Definition, task.definition_id),
        "schedule": name(Schedule, task.schedule_id),
        "connection": name(Connection, task.connection_id),
        "scope": "all" if task.scope_kind == "all" else {task.scope_kind: task.scope_value},
        "enabled": task.enabled,
    }


def connection_view(conn: Connection, secret_keys: list[str]) -> View:
    """A connection as the file writes it: its kind, every parameter in effect, and where
    each secret comes from (``stored``: kept as entered, in the database only)."""
    view: View = {"kind": conn.kind}
    try:
        params = connection_kind(conn.kind).stored_params(conn.params).model_dump(mode="json")
    except ConfigError:
        params = dict(conn.params)
    view.update(params)
    refs = secret_sources(conn)
    for key in sorted(set(refs) | set(secret_keys)):
        view[key] = refs.get(key, "stored")
    return view


def secret_sources(conn: Connection) -> dict[str, str]:
    """Where each secret of a stored connection comes from, by key (``env:X``, ``file:Y``)."""
    out: dict[str, str] = {}
    for part in filter(None, (conn.secret_ref or "").split(";")):
        key, _, ref = part.partition("=")
        out[key] = ref
    return out
