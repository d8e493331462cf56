"""Delegate access is for super administrators only, wherever a grant shows.

A delegate grant (mailbox, delegate, right) shows not only on the delegate pages: a mailbox
permission sync run carries grants in its plan and its change log (entity ``delegate_grant``)
and names trustees in its warnings ("X on Y"), and the audit log records delegate actions
(``delegate.*``) with mailbox, delegate and right. This module is the one place that decides
whether a viewer may see grant data and what is grant data; the pages and the API both ask
it. Other roles see such runs' status, counts and their other messages, and a notice where
grant details were left out, never nothing in silence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tenantsync.console.ops.paging import Page
from tenantsync.engine.permission_sync import DEFINITION_TYPE
from tenantsync.engine.permission_sync.apply import ENTITY
from tenantsync.store.models import AuditEntry

if TYPE_CHECKING:  # annotations only: importing auth would load FastAPI
    from tenantsync.console.auth import Principal

HIDDEN = "grant details are visible to super administrators"
GRANT_ENTITY = ENTITY  # how changes and plan entries of a delegate grant name their entity
PERMISSION_SYNC = DEFINITION_TYPE.name
# Definition types whose runs' messages may name grants: permission sync, and the hybrid
# report and batches (they list grants, broken grants and trustees).
GRANT_TYPES = frozenset({PERMISSION_SYNC, "hybrid_report", "migration_batches"})
AUDIT_ACTIONS = "delegate."


def sees_grants(viewer: Principal) -> bool:
    """Whether ``viewer`` may see grant data: super administrators only."""
    return viewer.super


def is_grant_entity(entity: object) -> bool:
    """Whether a change or plan entry of this entity is a delegate grant."""
    return entity == GRANT_ENTITY


def is_grant_message(definition_type: str, message: object) -> bool:
    """Whether a run message is grant data: any message of a permission sync or hybrid run, except
    those the engine marks as naming no grant (``"grant_data": false``); a message written
    before the engine marked them counts as grant data."""
    if definition_type not in GRANT_TYPES:
        return False
    return not (isinstance(message, Mapping) and message.get("grant_data") is False)


def is_grant_audit(action: str) -> bool:
    """Whether an audit entry of this action records a delegate grant."""
    return action.startswith(AUDIT_ACTIONS)


def visible_messages(
    viewer: Principal, definition_type: str, messages: Iterable[Any]
) -> tuple[list[Any], int]:
    """A run's messages for ``viewer``, those that are grant data replaced by a notice of the
    same level; and how many were replaced."""
    if sees_grants(viewer):
        return list(messages), 0
    shown: list[Any] = []
    hidden = 0
    for message in messages:
        if is_grant_message(definition_type, message):
            shown.append(_notice(message))
            hidden += 1
        else:
            shown.append(message)
    return shown, hidden


def _notice(message: object) -> dict[str, Any]:
    level = message.get("level", "info") if isinstance(message, Mapping) else "info"
    return {"level": level, "text": HIDDEN, "hidden": True}


def hides_change(viewer: Principal, entity: object) -> bool:
    """Whether a change or plan entry of ``entity`` is left out for ``viewer``."""
    return not sees_grants(viewer) and is_grant_entity(entity)


@dataclass(frozen=True)
class AuditRow:
    """An audit entry as ``viewer`` reads it; ``hidden`` when its target and detail
    (mailbox, delegate, right) were left out."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    address: str | None
    hidden: bool = False


def audit_rows(viewer: Principal, found: Page[AuditEntry]) -> Page[AuditRow]:
    """A page of the audit log for ``viewer``: who did which delegate action and when stays,
    the grant it was about is left out for other roles."""
    rows = []
    for e in found.items:
        row = AuditRow(e.id, e.at, e.actor, e.action, e.target, dict(e.detail), e.address)
        if not sees_grants(viewer) and is_grant_audit(e.action):
            row = replace(row, target="", detail={}, hidden=True)
        rows.append(row)
    return Page(items=rows, total=found.total, page=found.page, per_page=found.per_page)
