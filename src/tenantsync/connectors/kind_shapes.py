"""A face's model of a connection, one flat shape per kind: the face's own fields (``name``,
``kind``), then the kind's parameters (its ``params_model``, defaults included), then its
secrets, carried the way that face carries them.

Subclass :class:`KindShaped` once per face (a YAML entry, an API body) and set
``secret_type``. Validating the subclass validates the shape of the entry's kind (``kind``
omitted: :data:`DEFAULT_KIND`), so errors name the kind's own fields with their own
messages; its JSON schema is one of every kind's shapes. Nothing here lists kinds: a kind
registered later is served at once.
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import InitErrorDetails, PydanticCustomError, core_schema

from tenantsync.connectors.kinds import (
    DEFAULT_KIND,
    ConnectionKind,
    connection_kind,
    connection_kinds,
)
from tenantsync.errors import ConfigError

_SHAPES: set[type[BaseModel]] = set()


class KindShaped(BaseModel):
    """The fields every kind's connection has in a face; see the module docstring."""

    model_config = ConfigDict(extra="forbid")

    secret_type: ClassVar[Any] = str
    """How this face carries one secret."""
    secret_schema: ClassVar[dict[str, Any]] = {}
    """What this face's JSON schema says about every secret field."""

    kind: str = DEFAULT_KIND

    @model_validator(mode="wrap")
    @classmethod
    def _as_its_kind(cls, data: Any, handler: Any) -> Any:
        if cls in _SHAPES or not isinstance(data, dict):
            return handler(data)
        name = data.get("kind", DEFAULT_KIND)
        try:
            kind = connection_kind(str(name))
        except ConfigError as exc:
            message = str(exc).removeprefix("kind: ")
            error = PydanticCustomError("connection_kind", message)
            detail = InitErrorDetails(type=error, loc=("kind",), input=name)
            raise ValidationError.from_exception_data(cls.__name__, [detail]) from None
        return shape(cls, kind).model_validate(data)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        if cls in _SHAPES:
            return handler(schema)
        shapes = [shape(cls, kind) for kind in connection_kinds()]
        return {"oneOf": [handler(s.__pydantic_core_schema__) for s in shapes]}

    @property
    def connection_kind(self) -> ConnectionKind[Any, Any]:
        """The kind of this connection."""
        return connection_kind(self.kind)

    def parameters(self) -> BaseModel:
        """The kind's parameters as given here (defaults filled in)."""
        model: type[BaseModel] = self.connection_kind.params_model
        return model.model_validate(self.model_dump(include=set(model.model_fields)))

    def secrets(self) -> dict[str, Any]:
        """The secrets given here, by key."""
        names = self.connection_kind.secret_names
        return {k: v for k in names if (v := getattr(self, k, None)) is not None}


@cache
def shape(face: type[KindShaped], kind: ConnectionKind[Any, Any]) -> type[KindShaped]:
    """The model of a ``kind`` connection in ``face``: one flat set of fields."""
    secrets: dict[str, Any] = {
        s.name: (
            face.secret_type | None,
            Field(None, title=s.title, description=s.help or None, **_extra(face)),
        )
        for s in kind.secret_fields
    }
    default = DEFAULT_KIND if kind.name == DEFAULT_KIND else ...
    model = create_model(
        f"{kind.name.title().replace('_', '')}{face.__name__}",
        __base__=(kind.params_model, face),
        __module__=face.__module__,
        __doc__=f"{face.__doc__ or ''} Kind {kind.name}: {kind.title}.".strip(),
        kind=(str, Field(default, json_schema_extra={"const": kind.name})),
        **secrets,
    )
    _SHAPES.add(model)
    return cast(type[KindShaped], model)


def _extra(face: type[KindShaped]) -> dict[str, Any]:
    return {"json_schema_extra": dict(face.secret_schema)} if face.secret_schema else {}


class AnyKindParams:
    """JSON schema of a connection's parameters whatever its kind: one of every kind's
    parameters models. Use as ``Annotated[dict[str, Any], AnyKindParams()]``."""

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        models = [kind.params_model for kind in connection_kinds()]
        return {"anyOf": [handler(m.__pydantic_core_schema__) for m in models]}
