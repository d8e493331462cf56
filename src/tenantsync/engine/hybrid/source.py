"""What the hybrid features read: an exported-files connection's inventory, and where the
files uploaded to a connection are kept (a folder per connection under the data directory).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from tenantsync.model.hybrid import Inventory, Side
from tenantsync.settings import Settings


class InventorySource(Protocol):
    """A connection that reads exported cmdlet files (``connectors/exported``)."""

    def inventory(self, uploads: Path | None = None) -> Inventory:
        """Every file of the connection's folder and of ``uploads``, read whole; a file that
        cannot be read is a ConfigError naming file, line and column (nothing imported)."""
        ...


def uploads_folder(settings: Settings, connection_id: int) -> Path:
    """Where the files uploaded to a connection are kept."""
    return settings.data_dir / "connections" / str(connection_id) / "files"


def side_folder(settings: Settings, connection_id: int, side: Side | None) -> Path:
    """The folder an upload of ``side`` goes to (None: its content or the default decides)."""
    name = side.value if side is not None else "auto"
    return uploads_folder(settings, connection_id) / name
