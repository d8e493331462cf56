"""Mailbox permission sync: Full Access, Send As and Send on Behalf into delegate grants.

Public surface: ``DEFINITION_TYPE`` (registered as ``mailbox_permission_sync``),
``PermissionSyncOptions`` and the query functions in ``queries`` (``delegates_of``,
``delegates_on``) for the console and CLI. Runs go through the pipeline.
"""

from __future__ import annotations

from tenantsync.engine.permission_sync.feature import PermissionSync
from tenantsync.engine.permission_sync.options import PermissionSyncOptions
from tenantsync.engine.registry import DefinitionType

DEFINITION_TYPE = DefinitionType(
    name="mailbox_permission_sync",
    title="Mailbox permission sync",
    options_model=PermissionSyncOptions,
    feature=PermissionSync(),
    needs_connection=True,
)

__all__ = ["DEFINITION_TYPE", "PermissionSync", "PermissionSyncOptions"]
