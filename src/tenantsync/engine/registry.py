"""Definition types: each feature registers its options model and what it plugs into the
pipeline."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from tenantsync.engine.feature import Feature
from tenantsync.errors import ConfigError


@dataclass(frozen=True)
class DefinitionType:
    """A kind of definition: its options, its feature, and whether it reads a connection."""

    name: str
    title: str
    options_model: type[BaseModel]
    feature: Feature[Any, Any]
    needs_connection: bool = False


class Registry:
    """The definition types one process knows."""

    def __init__(self, types: Iterable[DefinitionType] = ()) -> None:
        self._types: dict[str, DefinitionType] = {}
        for t in types:
            self.register(t)

    def register(self, definition_type: DefinitionType) -> None:
        if definition_type.name in self._types:
            raise ValueError(f"definition type {definition_type.name!r} registered twice")
        self._types[definition_type.name] = definition_type

    def names(self) -> list[str]:
        return sorted(self._types)

    def get(self, name: str) -> DefinitionType:
        """The type called ``name``; unknown names list the known ones."""
        try:
            return self._types[name]
        except KeyError:
            known = ", ".join(self.names())
            raise ConfigError(
                f"unknown definition type {name!r} (known: {known})", field="type"
            ) from None

    def validate_options(self, type_name: str, options: dict[str, Any]) -> BaseModel:
        """The options parsed by the type's model; errors name each bad field."""
        model = self.get(type_name).options_model
        try:
            return model.model_validate(options)
        except ValidationError as exc:
            raise options_error(exc) from None


def options_error(exc: ValidationError, prefix: str = "options") -> ConfigError:
    """A ConfigError that names every invalid field of a pydantic validation error."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in (prefix, *err["loc"]))
        parts.append(f"{loc}: {err['msg']}")
    return ConfigError("; ".join(parts))


def default_registry() -> Registry:
    """Every definition type this installation ships."""
    from tenantsync.engine import (
        calendar,
        connection_check,
        housekeeping,
        hybrid,
        permission_sync,
        user_sync,
    )

    return Registry(
        [
            housekeeping.DEFINITION_TYPE,
            permission_sync.DEFINITION_TYPE,
            user_sync.DEFINITION_TYPE,
            calendar.DEFINITION_TYPE,
            connection_check.DEFINITION_TYPE,
            *hybrid.DEFINITION_TYPES,
        ]
    )
