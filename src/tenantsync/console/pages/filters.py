"""Filter values from a page's query string, as an HTML form sends them.

A filter form sends every field, empty ones as ``""`` ("any"); so page filters are read
as text and an empty or unknown value means "no filter" instead of a validation error.
"""

from __future__ import annotations

import enum
from typing import TypeVar

from tenantsync.console.api.schemas import MAX_ID

E = TypeVar("E", bound=enum.Enum)


def choice(cls: type[E], text: str) -> E | None:
    """The member of ``cls`` whose value is ``text``, or None."""
    try:
        return cls(text.strip())
    except ValueError:
        return None


def object_id(text: str) -> int | None:
    """A positive object id, or None."""
    text = text.strip()
    if not text.isdigit():
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None
