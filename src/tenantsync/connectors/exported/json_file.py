"""``ConvertTo-Json`` output: an array of objects, or one object alone (PowerShell does not
wrap a single result in an array). Values stay as PowerShell wrote them (enums as numbers,
switches as ``{"IsPresent": ...}``); the cmdlet readers interpret them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tenantsync.connectors.exported.records import Parsed, Record
from tenantsync.connectors.exported.text import ExportError, Locator, position

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\r\n]*")


def parse_json(text: str, name: str) -> Parsed:
    """Every object of a ConvertTo-Json file, each with the line and column it starts at."""
    i = _skip(text, 0)
    if i >= len(text):
        raise ExportError(name, 1, 1, "a JSON array of objects or one object (the file is empty)")
    where = Locator(text)
    if text[i] == "{":
        value, end = _decode(text, i, name)
        _end(text, end, name)
        return Parsed([_record(value, where.at(i), name)])
    if text[i] != "[":
        line, column = position(text, i)
        raise ExportError(name, line, column, "'[' or '{' opening ConvertTo-Json output")
    records: list[Record] = []
    i = _skip(text, i + 1)
    if i < len(text) and text[i] == "]":
        _end(text, i + 1, name)
        return Parsed(records)
    while True:
        value, end = _decode(text, i, name)
        records.append(_record(value, where.at(i), name))
        i = _skip(text, end)
        if i < len(text) and text[i] == ",":
            i = _skip(text, i + 1)
            continue
        if i < len(text) and text[i] == "]":
            _end(text, i + 1, name)
            return Parsed(records)
        line, column = position(text, i)
        raise ExportError(name, line, column, "',' or ']' after an object of the array")


def _skip(text: str, i: int) -> int:
    found = _SPACE.match(text, i)
    return found.end() if found else i


def _end(text: str, i: int, name: str) -> None:
    i = _skip(text, i)
    if i < len(text):
        line, column = position(text, i)
        raise ExportError(name, line, column, "the end of the file after the JSON value")


def _decode(text: str, i: int, name: str) -> tuple[Any, int]:
    try:
        value, end = _DECODER.raw_decode(text, i)
    except json.JSONDecodeError as exc:
        raise ExportError(name, exc.lineno, exc.colno, f"valid JSON ({exc.msg})") from None
    return value, end


def _record(value: Any, at: tuple[int, int], name: str) -> Record:
    line, column = at
    if not isinstance(value, dict):
        raise ExportError(name, line, column, "an object with the cmdlet's properties")
    return Record(line, column, value)
