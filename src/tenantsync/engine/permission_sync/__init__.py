"""Mailbox permission sync: Full Access, Send As and Send on Behalf into delegate grants.

Public surface: ``DEFINITION_TYPE`` (registered as ``mailbox_permission_sync``),
``PermissionSyncOptions``, ``sync_permissions(ctx, open_reader)`` (the handler with a chosen
reader), ``PermissionReader`` (the seam to the connector) and the query functions in
``queries`` (``delegates_of``, ``delegates_on``) for the console and CLI.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tenantsync.engine.permission_sync.handler import sync_permissions
from tenantsync.engine.permission_sync.options import PermissionSyncOptions
from tenantsync.engine.permission_sync.reader import PermissionReader, ReaderFactory
from tenantsync.engine.run import Outcome, RunContext
from tenantsync.engine.registry import DefinitionType


@contextmanager
def open_exchange_reader(
    ctx: RunContext, options: PermissionSyncOptions
) -> Iterator[PermissionReader]:
    """A reader over the task's Exchange connection."""
    from tenantsync.connectors.exchange_permissions import open_reader

    with open_reader(ctx, options) as reader:
        yield reader


def run_permission_sync(ctx: RunContext) -> Outcome:
    """The handler the worker calls: sync against the task's Exchange connection."""
    return sync_permissions(ctx, open_exchange_reader)


DEFINITION_TYPE = DefinitionType(
    name="mailbox_permission_sync",
    title="Mailbox permission sync",
    options_model=PermissionSyncOptions,
    handler=run_permission_sync,
    needs_connection=True,
)

__all__ = [
    "DEFINITION_TYPE",
    "PermissionReader",
    "PermissionSyncOptions",
    "ReaderFactory",
    "open_exchange_reader",
    "run_permission_sync",
    "sync_permissions",
]
