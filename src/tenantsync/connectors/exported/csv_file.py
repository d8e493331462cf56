"""``Export-Csv`` output: an optional ``#TYPE`` line, a header, then one record per object.

Fields are comma-separated and double-quoted with ``""`` inside (Windows PowerShell quotes
every field; PowerShell 7 too, unless told otherwise), and a quoted field may span lines.
The reader tracks the line and column where every field starts, so a bad record is named
precisely; it refuses a record whose field count differs from the header's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from tenantsync.connectors.exported.records import Parsed, Record
from tenantsync.connectors.exported.text import ExportError

Field = tuple[str, int, int]  # value, line, column


def parse_csv(text: str, name: str) -> Parsed:
    """Every record of an Export-Csv file; ExportError at the first malformed field."""
    rows = _rows(text, name)
    type_names: tuple[str, ...] = ()
    header: list[Field] | None = None
    records: list[Record] = []
    for fields in rows:
        if header is None:
            first = fields[0][0]
            if len(fields) == 1 and first.startswith("#TYPE"):
                type_names = (first.removeprefix("#TYPE").strip(),)
                continue
            if len(fields) == 1 and first.startswith("#"):
                continue  # a comment line some tools write before the header
            header = fields
            _check_header(header, name)
            continue
        if len(fields) == 1 and fields[0][0] == "":
            continue  # a blank line
        if len(fields) != len(header):
            _value, line, column = fields[min(len(fields), len(header)) - 1]
            raise ExportError(
                name,
                line,
                column,
                f"{len(header)} fields as the header has, found {len(fields)}",
            )
        values = {h[0]: f[0] for h, f in zip(header, fields, strict=True)}
        columns = {h[0]: f[2] for h, f in zip(header, fields, strict=True)}
        records.append(Record(fields[0][1], fields[0][2], values, columns, type_names))
    if header is None:
        raise ExportError(name, 1, 1, "a header line naming the columns (the file is empty)")
    return Parsed(records, type_names)


def _check_header(header: list[Field], name: str) -> None:
    seen: set[str] = set()
    for value, line, column in header:
        if not value:
            raise ExportError(name, line, column, "a column name, found an empty one")
        if value in seen:
            raise ExportError(name, line, column, f"each column once, {value!r} is there twice")
        seen.add(value)


_UNQUOTED = re.compile(r'[^,\r\n"]*')


def _rows(text: str, name: str) -> Iterator[list[Field]]:
    """Records as lists of (value, line, column), RFC 4180 style with CR/LF line ends.

    Fields are found with ``str.find`` and a regular expression, not character by
    character: a million-row export reads in seconds."""
    i, n = 0, len(text)
    line, line_start = 1, 0
    while i < n:
        fields: list[Field] = []
        while True:
            column = i - line_start + 1
            start_line = line
            if i < n and text[i] == '"':
                i += 1
                chunks: list[str] = []
                while True:
                    j = text.find('"', i)
                    if j < 0:
                        raise ExportError(
                            name, start_line, column, "a closing quote for the field opened here"
                        )
                    chunk = text[i:j]
                    newlines = chunk.count("\n")
                    if newlines:
                        line += newlines
                        line_start = i + chunk.rfind("\n") + 1
                    chunks.append(chunk)
                    if j + 1 < n and text[j + 1] == '"':
                        chunks.append('"')
                        i = j + 2
                        continue
                    i = j + 1
                    break
                value = "".join(chunks)
                if i < n and text[i] not in ",\r\n":
                    raise ExportError(
                        name,
                        line,
                        i - line_start + 1,
                        "a comma or the end of the line after a quoted field",
                    )
            else:
                found = _UNQUOTED.match(text, i)
                end = found.end() if found else i
                if end < n and text[end] == '"':
                    raise ExportError(
                        name,
                        line,
                        end - line_start + 1,
                        'no quote inside an unquoted field (quote the field, doubling "")',
                    )
                value, i = text[i:end], end
            fields.append((value, start_line, column))
            if i < n and text[i] == ",":
                i += 1
                continue
            break
        if i < n and text[i] == "\r":
            i += 1
        if i < n and text[i] == "\n":
            i += 1
        line, line_start = line + 1, i
        yield fields
