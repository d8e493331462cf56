"""Opening a stored connection through its kind (see :mod:`tenantsync.connectors.kinds`).

The connection's kind parses its stored ``params`` and turns them and the decrypted secret
into a connector. Pass ``transport`` to talk to an in-process app (tests, benchmarks)
instead of the network.
"""

from __future__ import annotations

from tenantsync.connectors.http import HttpOptions, httpx
from tenantsync.connectors.kinds import connection_kind
from tenantsync.connectors.m365 import M365Connector
from tenantsync.errors import ConfigError, NotFound
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Connection
from tenantsync.store.secretbox import SecretBox

__all__ = ["M365Connector", "connector_for", "load_connector"]


def connector_for(
    connection: Connection,
    box: SecretBox,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    http_options: HttpOptions | None = None,
) -> M365Connector:
    """The connector of a stored connection, its secret decrypted with ``box``."""
    kind = connection_kind(connection.kind)
    if connection.secret_ciphertext is None:
        raise ConfigError(f"connection {connection.name!r} has no stored credential")
    secret = box.decrypt(connection.secret_ciphertext)
    connector = kind.open(connection.params, secret, transport=transport, http_options=http_options)
    # Its callers read Graph and Exchange directly; the engine's sources replace them.
    if not isinstance(connector, M365Connector):
        raise ConfigError(f"connection {connection.name!r} is of kind {connection.kind!r}")
    return connector


def load_connector(
    db: Database,
    settings: Settings,
    connection_id: int,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    http_options: HttpOptions | None = None,
) -> M365Connector:
    """The connector of the stored connection ``connection_id``."""
    with db.session() as session:
        connection = session.get(Connection, connection_id)
        if connection is None:
            raise NotFound(f"connection {connection_id} does not exist")
        session.expunge(connection)
    box = SecretBox.from_key_file(settings.effective_key_file, create=False)
    return connector_for(connection, box, transport=transport, http_options=http_options)
