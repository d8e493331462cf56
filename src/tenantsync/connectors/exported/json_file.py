"""``ConvertTo-Json`` output: an array of objects, or one object alone (PowerShell does not
wrap a single result in an array). Values stay as PowerShell wrote them (enums as numbers,
switches as ``{"IsPresent": ...}``); the cmdlet readers interpret them.
"""

from __future__ import annotations

import json
from typing import Any

from tenantsync.connectors.exported.records import Parsed, Record
from tenantsync.connectors.exported.text import ExportError, position

_DECODER = json.JSONDecoder()


def parse_json(text: str, name: str) -> Parsed:
    """Every object of a ConvertTo-Json file, each with the line and column it starts at."""
    i = _skip(text, 0)
    if i >= len(text):
        raise ExportError(name, 1, 1, "a JSON array of objects or one object (the file is empty)")
    if text[i] == "{":
        value, end = _decode(text, i, name)
        _end(text, end, name)
        return Parsed([_record(value, text, i, name)])
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
        records.append(_record(value, text, i, name))
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
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


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


def _record(value: Any, text: str, offset: int, name: str) -> Record:
    line, column = position(text, offset)
    if not isinstance(value, dict):
        raise ExportError(name, line, column, "an object with the cmdlet's properties")
    return Record(line, column, value)
