"""One object read from an exported file, with where it was, whatever the format."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Record:
    """An object's properties as plain values (text, numbers, booleans, lists, dicts, None)
    and where it started; ``columns`` gives a property's own column where the format has
    one (CSV cells). ``type_names`` are the .NET type names the file recorded for it."""

    line: int
    column: int
    values: dict[str, Any]
    columns: dict[str, int] = field(default_factory=dict)
    type_names: tuple[str, ...] = ()

    def where(self, key: str | None = None) -> tuple[int, int]:
        """(line, column) of the object, or of one of its properties."""
        if key is not None and key in self.columns:
            return self.line, self.columns[key]
        return self.line, self.column


@dataclass
class Parsed:
    """The records of one file and the type names it declared for all of them."""

    records: list[Record]
    type_names: tuple[str, ...] = ()
