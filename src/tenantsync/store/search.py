"""Searching names and addresses whatever their case and accents, the same on SQLite and
PostgreSQL: "Ömer", "omer", "ÖMER" and "Omer" all find Ömer.

One table, built here from Unicode, folds a letter of the Latin, Greek and Cyrillic blocks
to its lower-case base letter ("Ö" → "o", "Ø" → "o"), a few to two ("ß" → "ss", "Æ" →
"ae"); every other character stays as it is. Folding is Python's alone (:func:`fold`), so
nothing depends on the database's locale (PostgreSQL's ``lower`` under the C locale folds
ASCII only, as SQLite's always does) or on an extension (``unaccent`` may not be
installed). What is searched is stored folded: every organization, mailbox and source
group keeps its names and address folded in ``search_text`` (:func:`searchable`, one part
a line), written with the row (the user sync's bulk writes name it, the ORM's events fill
it for everything else; migration 0011 folded the rows stored before). A search folds what
was typed the same way and looks for it in that column with ``LIKE`` (:func:`contains`): on
PostgreSQL a trigram index (``pg_trgm``, where it could be installed) finds the rows
without reading the others, on SQLite ``LIKE`` reads the column in C. A mailbox's aliases
are addresses (ASCII, stored in lower case, as primary addresses are): they are compared
with ``LIKE`` against the folded text (:func:`address_matches`).
"""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, func

# Letters that do not decompose into a base letter and a mark, and what they are read as.
_SPECIAL = {
    "ß": "ss",
    "ẞ": "ss",
    "æ": "ae",
    "Æ": "ae",
    "œ": "oe",
    "Œ": "oe",
    "þ": "th",
    "Þ": "th",
    "ð": "d",
    "Ð": "d",
    "ø": "o",
    "Ø": "o",
    "ł": "l",
    "Ł": "l",
    "đ": "d",
    "Đ": "d",
    "ħ": "h",
    "Ħ": "h",
    "\u0131": "i",  # dotless i
    "ŧ": "t",
    "Ŧ": "t",
    "\u03c2": "\u03c3",  # final sigma: sigma
}
_BLOCKS = (
    range(0x41, 0x5B),  # A-Z
    range(0xC0, 0x250),  # Latin-1 Supplement, Latin Extended-A and -B
    range(0x370, 0x400),  # Greek
    range(0x400, 0x530),  # Cyrillic and its supplement
    range(0x1E00, 0x1F00),  # Latin Extended Additional (Vietnamese and others)
)


def _base(char: str) -> str:
    if char in _SPECIAL:
        return _SPECIAL[char]
    stripped = "".join(
        c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
    )
    lowered = stripped.lower()
    return "".join(
        c for c in unicodedata.normalize("NFKD", lowered) if not unicodedata.combining(c)
    )


@cache
def _table() -> dict[int, str]:
    """Every character that folds, and what it folds to (one character, or a few)."""
    table: dict[int, str] = {}
    for block in _BLOCKS:
        for point in block:
            char = chr(point)
            if unicodedata.category(char)[0] != "L":
                continue
            base = _base(char)
            if base.isalpha() and base != char:
                table[point] = base
    return table


def fold(text: str) -> str:
    """``text`` with case and accents folded away."""
    return text.translate(_table())


def like_contains(text: str) -> str:
    """A LIKE pattern (escape ``\\``) for values that contain the fold of ``text``."""
    folded = fold(text.strip())
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def searchable(*parts: str | None) -> str:
    """The ``search_text`` of a row: each of its names and addresses folded, one a line."""
    return "\n".join(fold(part) for part in parts if part)


def contains(column: Any, text: str) -> ColumnElement[bool]:
    """Whether the folded text in ``column`` (a ``search_text``) contains ``text`` folded."""
    condition: ColumnElement[bool] = column.like(like_contains(text), escape="\\")
    return condition


def address_matches(column: Any, text: str) -> ColumnElement[bool]:
    """Whether the address in ``column`` contains ``text`` (its case and accents folded)."""
    condition: ColumnElement[bool] = func.lower(column).like(like_contains(text), escape="\\")
    return condition
