"""The exported-files connection kind: Exchange cmdlet output as admins export it (CSV,
JSON, CLIXML), read into the model's hybrid inventory.

Public surface: :data:`EXPORTED_FILES` (the kind), :class:`ExportedFilesConnector`,
:func:`read_file` and :func:`read_folders` (``reader``), :class:`ExportError` (``text``),
and the PowerShell renderers in ``powershell``.
"""

from tenantsync.connectors.exported.kind import (
    EXPORTED_FILES,
    ExportedFilesConnector,
    ExportedFilesParams,
)
from tenantsync.connectors.exported.reader import ReadFile, read_file, read_folders
from tenantsync.connectors.exported.text import ExportError

__all__ = [
    "EXPORTED_FILES",
    "ExportError",
    "ExportedFilesConnector",
    "ExportedFilesParams",
    "ReadFile",
    "read_file",
    "read_folders",
]
