"""Bytes of an exported file as text, and the one error every reader raises: the file, the
line and column, and what was expected there.

PowerShell writes files in several encodings: Windows PowerShell 5.1's ``Export-Csv``
ASCII by default, UTF-8 with a BOM for ``-Encoding UTF8``, UTF-16 LE with a BOM for
``-Encoding Unicode`` (also what ``>`` and ``Export-Clixml`` give), and PowerShell 7
UTF-8 without a BOM. A byte order mark decides; without one the text must be UTF-8.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass
class ExportError(Exception):
    """A file that cannot be read: where (1-based line and column) and what was expected."""

    file: str
    line: int
    column: int
    expected: str

    def __str__(self) -> str:
        return f"{self.file}, line {self.line}, column {self.column}: {self.expected}"


def decode(data: bytes, name: str) -> str:
    """The text of a file; an ExportError at the first byte that is not of its encoding."""
    encoding = "utf-8"
    for bom, found in BOMS:
        if data.startswith(bom):
            data, encoding = data[len(bom) :], found
            break
    else:
        if len(data) >= 2 and data[1] == 0 and data[0] != 0:
            # UTF-16 LE without its mark: every ASCII character is followed by a zero byte.
            encoding = "utf-16-le"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line, column = position(data[: exc.start].decode(encoding, "replace"), exc.start)
        raise ExportError(
            name,
            line,
            column,
            f"text in UTF-8 or UTF-16 (byte 0x{data[exc.start]:02X} is not {encoding}); "
            "export again with -Encoding UTF8",
        ) from None


def position(text: str, offset: int) -> tuple[int, int]:
    """The 1-based (line, column) of ``offset`` in ``text``."""
    offset = min(offset, len(text))
    line = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    return line, offset - start + 1


class Locator:
    """(line, column) of offsets into one text, asked in increasing order: newlines are
    counted once, between one offset and the next (a file of a million objects is not
    scanned a million times)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.offset = 0
        self.line = 1
        self.line_start = 0

    def at(self, offset: int) -> tuple[int, int]:
        """The 1-based (line, column) of ``offset``."""
        if offset < self.offset:
            return position(self.text, offset)
        self.line += self.text.count("\n", self.offset, offset)
        last = self.text.rfind("\n", self.offset, offset)
        if last >= 0:
            self.line_start = last + 1
        self.offset = offset
        return self.line, offset - self.line_start + 1
