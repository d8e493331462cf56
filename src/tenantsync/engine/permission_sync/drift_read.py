"""The drift report of a stored on-premises connection: its synced mailboxes read through
the domain controller's descriptors and through the Exchange Management Shell, compared
(:mod:`tenantsync.engine.permission_sync.drift`). Nothing is stored; the CLI prints it."""

from __future__ import annotations

from collections.abc import Collection

from tenantsync.connectors.loop import running
from tenantsync.connectors.onprem.kind import OnPremConnector
from tenantsync.engine.permission_sync.drift import DriftReport, compare
from tenantsync.engine.permission_sync.scope import synced_mailboxes
from tenantsync.engine.sources import Sources
from tenantsync.errors import ConfigError
from tenantsync.model.permissions import Right
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Connection


def connection_drift(
    db: Database,
    settings: Settings,
    connection_id: int,
    addresses: Collection[str] = (),
    rights: frozenset[Right] = frozenset(Right),
) -> DriftReport:
    """Where the two paths of the connection disagree, over its organization's synced
    mailboxes (only ``addresses`` when given; an address not synced is a ConfigError)."""
    with db.session() as session:
        connection = session.get_one(Connection, connection_id)
        mailboxes = synced_mailboxes(session, connection.organization_id)
    if addresses:
        wanted = {a.strip().lower() for a in addresses}
        mailboxes = [m for m in mailboxes if m.address.lower() in wanted]
        missing = wanted - {m.address.lower() for m in mailboxes}
        if missing:
            raise ConfigError(
                f"not a synced mailbox: {', '.join(sorted(missing))}", field="--mailbox"
            )
    connector, name = Sources().connector(db, settings, connection_id)
    if not isinstance(connector, OnPremConnector):
        raise ConfigError(
            f"connection {name!r} is not an on-premises Exchange connection: it has one path"
        )
    with running(connector, "drift") as (_loop, opened):
        ad, shell = opened.permission_paths()
        first = list(ad.read(mailboxes, rights, lambda: False))
        second = list(shell.read(mailboxes, rights, lambda: False))
    return compare(first, second)


__all__ = ["connection_drift"]
