"""Applying a configuration document to the store: check everything, then write in one go.

Every object the document names is written as the file says (a definition's options are
its whole options, a task's fields its whole task) and compared with what was stored, so
the report says, field by field, what changed; ``apply --diff`` is the same apply rolled
back. Objects the document does not name are left alone, and a task may use a stored
connection, definition or schedule by name without the file declaring it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.config.checks import (
    check_document,
    check_references,
    connection_secret,
    resolve_secret,
)
from tenantsync.config.diff import ObjectDiff
from tenantsync.config.loader import LoadedDocument
from tenantsync.config.write import OrgWriter
from tenantsync.engine.registry import Registry
from tenantsync.store.models import Organization
from tenantsync.store.secret_binding import check_connection_change
from tenantsync.store.secretbox import SecretBox

__all__ = ["ApplyReport", "apply_document", "connection_secret", "resolve_secret"]


@dataclass
class ApplyReport:
    """What an apply created, updated and left unchanged, as ``kind name`` lines, how each
    object changed (``diffs``), and notes on what it could not check yet, as
    ``file:line: field: note`` lines."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    diffs: list[ObjectDiff] = field(default_factory=list)

    def add(self, diff: ObjectDiff) -> None:
        """Count one object's outcome."""
        self.diffs.append(diff)
        getattr(self, diff.action).append(diff.label)

    def changed(self) -> list[ObjectDiff]:
        """The objects created or updated."""
        return [d for d in self.diffs if d.action != "unchanged"]

    def to_json(self) -> dict[str, Any]:
        """As ``apply --json`` prints it and the audit log keeps it."""
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "notes": self.notes,
            "diff": [d.to_json() for d in self.changed()],
        }


def apply_document(
    session: Session, loaded: LoadedDocument, registry: Registry, box: SecretBox
) -> ApplyReport:
    """Create or update everything the document names; nothing is written if any check fails."""
    check_document(loaded, registry)
    report = ApplyReport(notes=check_references(session, loaded, registry, box))
    for org_spec in loaded.document.organizations:
        secrets = {conn.name: connection_secret(conn) for conn in org_spec.connections}
        org_id = session.scalar(select(Organization.id).where(Organization.name == org_spec.name))
        if org_id is not None:
            for conn in org_spec.connections:
                # The file's secret then replaces the stored one entirely (see OrgWriter).
                check_connection_change(
                    session,
                    org_id,
                    conn.name,
                    conn.connection_kind,
                    conn.params(),
                    secrets[conn.name],
                )
        for diff in OrgWriter(session, registry, box, org_spec).write(secrets):
            report.add(diff)
    session.flush()
    return report
