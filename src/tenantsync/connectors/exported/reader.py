"""Reading exported files into an :class:`~tenantsync.model.hybrid.Inventory`.

A file's format is told by its name (``.csv``, ``.json``, ``.xml``/``.clixml``) or else by
its first character; its cmdlet and side by its content (see
:mod:`~tenantsync.connectors.exported.cmdlets`), unless the admin gave its side: a file
in a sub-folder named ``on-premises`` (``on_premises``, ``onprem``) or ``cloud``
(``online``, ``exchange-online``) is of that side. A file that cannot be read is refused
whole (an :class:`ExportError` naming file, line, column and what was expected).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tenantsync.connectors.exported.clixml import parse_clixml
from tenantsync.connectors.exported.cmdlets import Detected, add_records, detect
from tenantsync.connectors.exported.csv_file import parse_csv
from tenantsync.connectors.exported.json_file import parse_json
from tenantsync.connectors.exported.records import Parsed
from tenantsync.connectors.exported.text import ExportError, decode
from tenantsync.model.hybrid import FileSummary, Format, Inventory, Side

SUFFIXES = {
    ".csv": Format.CSV,
    ".json": Format.JSON,
    ".xml": Format.CLIXML,
    ".clixml": Format.CLIXML,
}
SIDE_FOLDERS = {
    "on-premises": Side.ON_PREMISES,
    "on_premises": Side.ON_PREMISES,
    "onprem": Side.ON_PREMISES,
    "on-prem": Side.ON_PREMISES,
    "cloud": Side.CLOUD,
    "online": Side.CLOUD,
    "exchange-online": Side.CLOUD,
}
MAX_FILE_BYTES = 2 * 1024**3


@dataclass
class ReadFile:
    """One file read whole: what it is and its records."""

    summary: FileSummary
    detected: Detected
    parsed: Parsed


def file_format(name: str, text: str) -> Format:
    """The format of a file, by its name's suffix or else by its first character."""
    suffix = Path(name).suffix.lower()
    if suffix in SUFFIXES:
        return SUFFIXES[suffix]
    head = text.lstrip()[:1]
    if head == "<":
        return Format.CLIXML
    if head in ("[", "{"):
        return Format.JSON
    return Format.CSV


def read_file(name: str, data: bytes, side: Side | None, default: Side | None) -> ReadFile:
    """One file checked and read: its side is ``side`` (the admin's), else what its content
    shows, else ``default``; an ExportError when it cannot be read or no side is known."""
    text = decode(data, name)
    fmt = file_format(name, text)
    parser = {Format.CSV: parse_csv, Format.JSON: parse_json, Format.CLIXML: parse_clixml}[fmt]
    parsed = parser(text, name)
    detected = detect(parsed, name)
    if side is not None:
        chosen, why = side, "given by the admin"
    elif detected.side is not None:
        chosen, why = detected.side, detected.reason
    elif default is not None:
        chosen, why = default, "the connection's default side"
    else:
        raise ExportError(
            name,
            1,
            1,
            "a side given for this file (its content does not tell on-premises from cloud)",
        )
    summary = FileSummary(name, chosen, detected.cmdlet, fmt, len(parsed.records), why)
    return ReadFile(summary, detected, parsed)


def side_of_folder(path: Path, root: Path) -> Side | None:
    """The side a file's sub-folder names (None: none)."""
    for part in path.relative_to(root).parts[:-1]:
        found = SIDE_FOLDERS.get(part.lower())
        if found is not None:
            return found
    return None


def files_in(folder: Path) -> Iterator[Path]:
    """The files of a folder and its sub-folders, in name order (hidden ones left out)."""
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).parts
        if path.is_file() and not any(p.startswith(".") for p in relative):
            yield path


def read_folders(folders: Iterable[Path], default: Side | None) -> Inventory:
    """Every file of ``folders`` in one inventory; an ExportError names the first bad file
    (and nothing is imported)."""
    inventory = Inventory()
    read: list[ReadFile] = []
    for folder in folders:
        for path in files_in(folder):
            if path.stat().st_size > MAX_FILE_BYTES:
                raise ExportError(str(path), 1, 1, "a file under 2 GiB")
            name = str(path.relative_to(folder))
            read.append(read_file(name, path.read_bytes(), side_of_folder(path, folder), default))
    for item in read:
        add(inventory, item)
    return inventory


def add(inventory: Inventory, item: ReadFile) -> None:
    """Put one read file into the inventory."""
    s = item.summary
    add_records(inventory, item.parsed, s.cmdlet, s.side, s.name)
    inventory.files.append(s)
