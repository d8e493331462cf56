"""User sync: mailboxes, addresses, kinds, policy groups and source groups from a directory.

Public surface: ``DEFINITION_TYPE`` (registered as ``user_sync``), ``UserSyncOptions`` and
``FilterRule``. Runs go through the pipeline (:mod:`tenantsync.engine.pipeline`).
"""

from __future__ import annotations

from tenantsync.engine.registry import DefinitionType
from tenantsync.engine.user_sync.feature import UserSync
from tenantsync.engine.user_sync.options import FilterRule, UserSyncOptions

DEFINITION_TYPE = DefinitionType(
    name="user_sync",
    title="User sync",
    options_model=UserSyncOptions,
    feature=UserSync(),
    needs_connection=True,
)

__all__ = ["DEFINITION_TYPE", "FilterRule", "UserSync", "UserSyncOptions"]
