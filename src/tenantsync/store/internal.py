"""Definitions and tasks tenantsync makes for itself (the console's connection health
checks): stored like any other so their runs are claimed, recorded and shown the same way,
but kept out of every list, the dashboard and ``export``.

They are known by a name prefix no file can give (names in a file are letters, digits,
spaces, ``.``, ``_`` and ``-``) and that the console and the API refuse for a name.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement

INTERNAL_PREFIX = "tenantsync: "


def internal_name(name: str) -> str:
    """The name of an object tenantsync makes for itself."""
    return INTERNAL_PREFIX + name


def is_internal(name: str) -> bool:
    """Whether a definition or task of this name is tenantsync's own."""
    return name.startswith(INTERNAL_PREFIX)


def shown(model: Any) -> ColumnElement[bool]:
    """The rows of ``model`` (Definition or ScheduledTask) an administrator sees."""
    condition: ColumnElement[bool] = ~model.name.startswith(INTERNAL_PREFIX, autoescape=True)
    return condition
