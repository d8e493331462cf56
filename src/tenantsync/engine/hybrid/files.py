"""Files uploaded to an exported-files connection (the console's upload, ``tenantsync
hybrid files add``): each is read whole first and refused, naming file, line and column,
when it cannot be; only a file that reads is stored, in its side's folder under the data
directory (a folder per connection)."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tenantsync.connectors.exported import EXPORTED_FILES, ExportError, read_file
from tenantsync.connectors.exported.reader import SIDE_FOLDERS, files_in
from tenantsync.connectors.kinds import connection_kind
from tenantsync.engine.hybrid.source import side_folder, uploads_folder
from tenantsync.errors import ConfigError, NotFound
from tenantsync.model.hybrid import FileSummary, Side
from tenantsync.settings import Settings
from tenantsync.store.models import Connection

_SAFE = re.compile(r"[^A-Za-z0-9._ -]+")
MAX_UPLOAD_BYTES = 512 * 1024**2


@dataclass(frozen=True)
class StoredFile:
    """An uploaded file: its name under the connection's folder, its side folder, its size."""

    name: str
    side: str
    size: int


def _check_kind(connection: Connection) -> None:
    if connection.kind != EXPORTED_FILES.name:
        raise ConfigError(
            f"connection {connection.name!r} is a {connection_kind(connection.kind).title} "
            "connection; files go to an exported-files connection",
            field="connection",
        )


def check_file(connection: Connection, name: str, data: bytes, side: Side | None) -> FileSummary:
    """What a file is, read whole; ConfigError naming line and column when it cannot be read.
    (Check every file of an upload first, so a bad one keeps the others out too.)"""
    _check_kind(connection)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ConfigError(f"{name} is larger than 512 MiB; put it in the connection's folder")
    default = EXPORTED_FILES.stored_params(connection.params).default_side()
    try:
        return read_file(name, data, side, default).summary
    except ExportError as exc:
        raise ConfigError(f"refused {exc}; no file was kept", field="file") from None


def add_file(
    settings: Settings, connection: Connection, name: str, data: bytes, side: Side | None
) -> FileSummary:
    """Check ``data`` and store it for the connection; ConfigError (nothing stored) when it
    cannot be read."""
    clean = _SAFE.sub("_", Path(name).name).strip(" .") or "upload"
    summary = check_file(connection, clean, data, side)
    folder = side_folder(settings, connection.id, side)
    folder.mkdir(parents=True, exist_ok=True)
    # Written aside, then renamed: a run never reads half a file.
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.replace(temporary, folder / clean)
    return summary


def list_files(settings: Settings, connection_id: int) -> list[StoredFile]:
    """The files uploaded to a connection."""
    root = uploads_folder(settings, connection_id)
    found = []
    for path in files_in(root):
        relative = path.relative_to(root)
        side = relative.parts[0] if len(relative.parts) > 1 else "auto"
        found.append(StoredFile(str(relative), side, path.stat().st_size))
    return found


def remove_file(settings: Settings, connection_id: int, name: str) -> None:
    """Forget one uploaded file (by the name :func:`list_files` gives)."""
    root = uploads_folder(settings, connection_id).resolve()
    target = (root / name).resolve()
    if root not in target.parents or not target.is_file():
        raise NotFound(f"no uploaded file {name!r} on this connection")
    target.unlink()


def parse_side(text: str | None) -> Side | None:
    """A side as people write it (on-premises, onprem, cloud, online, auto/empty: None)."""
    if text is None or text.strip().lower() in ("", "auto"):
        return None
    found = SIDE_FOLDERS.get(text.strip().lower())
    if found is None:
        raise ConfigError(f"{text!r} is no side: on-premises, cloud or auto", field="side")
    return found
