"""The connection kinds this installation knows, by name.

A kind is one module that declares a :class:`ConnectionKind` (see
:mod:`tenantsync.connectors.kind`) plus its entry here; YAML, the REST API, the console,
``export``, the health check and the code that opens a stored connection find it through
:func:`connection_kind`. A connection that names no kind is ``m365`` (:data:`DEFAULT_KIND`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tenantsync.connectors.exported.kind import EXPORTED_FILES
from tenantsync.connectors.kind import ConnectionKind, ParamField, SecretField, param_fields
from tenantsync.connectors.m365 import M365
from tenantsync.connectors.onprem.kind import EXCHANGE_ONPREM
from tenantsync.errors import ConfigError

__all__ = [
    "DEFAULT_KIND",
    "ConnectionKind",
    "ParamField",
    "SecretField",
    "connection_kind",
    "connection_kinds",
    "kind_of",
    "points_at",
    "register",
    "unregister",
]

DEFAULT_KIND = "m365"
# The faces' own fields of a connection, beside the kind's parameters and secrets.
FACE_FIELDS = frozenset({"name", "kind"})

_KINDS: dict[str, ConnectionKind[Any, Any]] = {}


def register(kind: ConnectionKind[Any, Any]) -> None:
    """Make ``kind`` known; TypeError when its name is taken or its declaration could not be
    served by every face (see :mod:`tenantsync.connectors.kind`)."""
    if not kind.name or kind.name in _KINDS:
        raise TypeError(f"connection kind {kind.name!r} is registered already or unnamed")
    if kind.params_model.model_config.get("extra") != "forbid":
        raise TypeError(f"{kind.params_model.__name__} must refuse unknown keys (extra='forbid')")
    params = {field.name for field in param_fields(kind.params_model)}
    taken = (FACE_FIELDS | set(kind.secret_names)) & params
    if taken:
        raise TypeError(f"kind {kind.name}: parameters named like other fields: {sorted(taken)}")
    if not set(kind.endpoint_fields) <= params:
        raise TypeError(f"kind {kind.name}: endpoint fields that are no parameters")
    _KINDS[kind.name] = kind


def unregister(name: str) -> None:
    """Forget the kind called ``name`` (connections of it can no longer be opened)."""
    _KINDS.pop(name, None)


def connection_kind(name: str) -> ConnectionKind[Any, Any]:
    """The kind called ``name``; an unknown name is a ConfigError listing the known ones."""
    try:
        return _KINDS[name]
    except KeyError:
        known = ", ".join(sorted(_KINDS))
        raise ConfigError(
            f"unknown connection kind {name!r} (known: {known})", field="kind"
        ) from None


def connection_kinds() -> list[ConnectionKind[Any, Any]]:
    """Every known kind, the default first, then by name."""
    return sorted(_KINDS.values(), key=lambda k: (k.name != DEFAULT_KIND, k.name))


def points_at(kind: str, params: Mapping[str, Any]) -> str:
    """Where a connection points, for lists: the value of its kind's first parameter (so a
    kind declares that one first; for Microsoft 365 the tenant id); empty if it has none."""
    model = _KINDS[kind].params_model if kind in _KINDS else None
    first = next(iter(model.model_fields), None) if model else None
    value = params.get(first) if first else None
    return "" if value is None else str(value)


def kind_of(connector: object) -> ConnectionKind[Any, Any]:
    """The kind whose connectors ``connector`` is one of."""
    for kind in _KINDS.values():
        if isinstance(connector, kind.connector_type):
            return kind
    raise ConfigError(f"no connection kind opens a {type(connector).__name__}")


register(M365)
register(EXCHANGE_ONPREM)
register(EXPORTED_FILES)
