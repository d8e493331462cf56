"""User sync: mailboxes, addresses, kinds, policy groups and source groups from Microsoft 365.

Public surface: ``DEFINITION_TYPE`` (registered as ``user_sync``), ``UserSyncOptions``,
``FilterRule``, ``sync_users(ctx, connector_factory)`` (the handler with a chosen
connector, for in-process transports) and ``run_user_sync`` (the worker's handler).
"""

from __future__ import annotations

from tenantsync.engine.user_sync.handler import ConnectorFactory, run_user_sync, sync_users
from tenantsync.engine.user_sync.options import FilterRule, UserSyncOptions
from tenantsync.worker.registry import DefinitionType

DEFINITION_TYPE = DefinitionType(
    name="user_sync",
    title="User sync",
    options_model=UserSyncOptions,
    handler=run_user_sync,
    needs_connection=True,
)

__all__ = [
    "DEFINITION_TYPE",
    "ConnectorFactory",
    "FilterRule",
    "UserSyncOptions",
    "run_user_sync",
    "sync_users",
]
