"""The exported-files connection kind: what admins export from Exchange with the cmdlets
(``Export-Csv``, ``ConvertTo-Json``, ``Export-Clixml``), read from a folder and from the
files uploaded to the connection. It needs no credential and opens no network path.

:class:`ExportedFilesParams` is the one shape of its parameters. The folder of uploaded
files lives under the installation's data directory (a folder per connection); the engine
hands it to :meth:`ExportedFilesConnector.inventory` with the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from tenantsync.connectors.exported.reader import files_in, read_folders
from tenantsync.connectors.exported.text import ExportError
from tenantsync.connectors.http import HttpOptions, httpx
from tenantsync.connectors.kind import Check, ConnectionKind
from tenantsync.errors import ConfigError, SourceError
from tenantsync.model.hybrid import Inventory, Side

NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
SIDES = ("on_premises", "cloud", "auto")


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


OptionalPath = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=1024, pattern=NO_CONTROL)]
    | None,
    BeforeValidator(_blank_is_none),
]


class ExportedFilesParams(BaseModel):
    """Where the exported files are, and which side a file is from when nothing else says."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    folder: OptionalPath = Field(
        None,
        title="Folder",
        description="read at every run, sub-folders included; empty: only the files "
        "uploaded to this connection",
    )
    side: str = Field(
        "on_premises",
        title="Default side",
        pattern=r"^(on_premises|cloud|auto)$",
        description="on_premises, cloud, or auto (refuse a file whose content does not tell)",
    )

    def default_side(self) -> Side | None:
        """The side of a file that neither its folder nor its content places."""
        return None if self.side == "auto" else Side(self.side)


class ExportedFilesConnector:
    """Reads the connection's folder and its uploaded files (nothing to open or close)."""

    def __init__(self, params: ExportedFilesParams) -> None:
        self.params = params

    async def __aenter__(self) -> ExportedFilesConnector:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def folders(self, uploads: Path | None = None) -> list[Path]:
        """The folders read: the connection's folder, then its uploads."""
        found = [Path(self.params.folder)] if self.params.folder else []
        return [*found, *([uploads] if uploads is not None else [])]

    def inventory(self, uploads: Path | None = None) -> Inventory:
        """Every file, read whole; a bad file is a ConfigError naming it (nothing imported)."""
        try:
            return read_folders(self.folders(uploads), self.params.default_side())
        except ExportError as exc:
            raise ConfigError(f"refused {exc}", field="file") from None


async def _folder(connector: ExportedFilesConnector) -> str:
    folder = connector.params.folder
    if folder is None:
        return "no folder: the files uploaded to this connection are read"
    count = await asyncio.to_thread(_count, Path(folder))
    if count is None:
        raise SourceError(f"the folder {folder} does not exist or cannot be read")
    return f"{folder}: {count} files"


def _count(folder: Path) -> int | None:
    return sum(1 for _ in files_in(folder)) if folder.is_dir() else None


async def _files(connector: ExportedFilesConnector) -> str:
    if connector.params.folder is None:
        return "uploaded files are checked when they are uploaded"
    try:
        inventory = await asyncio.to_thread(connector.inventory)
    except ConfigError as exc:
        raise SourceError(str(exc)) from None
    return (
        "; ".join(
            f"{f.name}: {f.cmdlet} ({f.format}, {f.objects} objects, {f.side})"
            for f in inventory.files
        )
        or "no files yet"
    )


CHECKS: tuple[tuple[str, Check], ...] = (("folder", _folder), ("files readable", _files))


def _connect(
    params: ExportedFilesParams,
    secret: Mapping[str, str],
    transport: httpx.AsyncBaseTransport | None,
    http_options: HttpOptions | None,
) -> ExportedFilesConnector:
    return ExportedFilesConnector(params)


EXPORTED_FILES = ConnectionKind(
    name="exported_files",
    title="Exported cmdlet files",
    params_model=ExportedFilesParams,
    secret_fields=(),
    endpoint_fields=(),
    serves=frozenset({"hybrid_report", "migration_batches", "connection_check"}),
    checks=CHECKS,
    connector_type=ExportedFilesConnector,
    connect=_connect,
    secret_required=False,
)

__all__: Sequence[str] = ("EXPORTED_FILES", "ExportedFilesConnector", "ExportedFilesParams")
