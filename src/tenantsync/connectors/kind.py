"""What a connection kind declares: the one shape of its parameters (defaults included),
the secrets it takes, which parameters a stored secret is bound to, the definition types
it can serve, its health checks, and how a connection of the kind is opened.

YAML, the REST API, the console form, ``export`` and the connector all take a kind's
parameters from its ``params_model``; none of them knows a kind's fields. That is why a
parameters model may hold only what every face can show and read back: scalar fields
(text, whole numbers, numbers, yes/no, each optionally empty), and it refuses keys it does
not know (a misspelt key in a file must not pass silently). The registry
(:mod:`tenantsync.connectors.kinds`) refuses a kind that breaks either rule.
"""

from __future__ import annotations

import types
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar, Union, cast, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from tenantsync.connectors.http import HttpOptions, httpx
from tenantsync.errors import ConfigError

P = TypeVar("P", bound=BaseModel)
C = TypeVar("C")

Check = Callable[[Any], Awaitable[str]]
"""A health check of an opened connector of its kind: returns what it found, raises
``SourceError`` naming what is missing."""

Transport = httpx.AsyncBaseTransport | None
SCALARS: tuple[type, ...] = (bool, int, float, str)


@dataclass(frozen=True)
class SecretField:
    """One secret a kind takes: its key in the encrypted secret, and how people are asked
    for it (``title`` is a lower-case noun used in labels and messages)."""

    name: str
    title: str
    help: str = ""
    multiline: bool = False
    required: bool = False
    # The endpoint fields this secret is sent to (empty: all the kind's endpoint fields):
    # moving one of them needs this secret entered again, moving others keeps it.
    bound_to: tuple[str, ...] = ()
    # Another parameter and the value that makes this secret matter (see ParamField).
    shown_when: tuple[str, str] | None = None


@dataclass(frozen=True)
class ParamField:
    """One parameter as every face shows it: name, label, scalar type, default, help, and
    ``shown_when`` (another parameter and the value that makes this one matter: a form
    shows the field only then)."""

    name: str
    title: str
    type: type
    required: bool
    default: Any
    help: str
    shown_when: tuple[str, str] | None = None


@dataclass(frozen=True)
class ConnectionKind(Generic[P, C]):
    """One kind of connection; see the module docstring for what each part is for.

    ``connect(params, secret, transport, http_options)`` builds the connector (not yet
    entered); call it through :meth:`open`, which parses stored parameters and checks the
    secret first. ``secret_required``: at least one of the secret fields must be given
    (besides the fields that are ``required`` themselves).
    """

    name: str
    title: str
    params_model: type[P]
    secret_fields: tuple[SecretField, ...]
    endpoint_fields: tuple[str, ...]
    serves: frozenset[str]
    checks: tuple[tuple[str, Check], ...]
    connector_type: type[C]
    connect: Callable[[P, Mapping[str, str], Transport, HttpOptions | None], C]
    secret_required: bool = True
    # The lines of an opened connection's check when they depend on its parameters (which
    # path reads permissions); None: ``checks``.
    checks_for: Callable[[C], tuple[tuple[str, Check], ...]] | None = None

    def checks_of(self, connector: C) -> tuple[tuple[str, Check], ...]:
        """The checks of an opened connector of this kind."""
        return self.checks if self.checks_for is None else self.checks_for(connector)

    @property
    def param_fields(self) -> tuple[ParamField, ...]:
        """The parameters in the order the model declares them."""
        return param_fields(self.params_model)

    @property
    def secret_names(self) -> tuple[str, ...]:
        """The keys of the secrets this kind takes."""
        return tuple(s.name for s in self.secret_fields)

    def stored_params(self, stored: Mapping[str, Any]) -> P:
        """Parameters as a connection stored them: keys the kind no longer has are left
        out, missing ones take their defaults; a bad value is a ConfigError naming it."""
        known = {k: v for k, v in stored.items() if k in self.params_model.model_fields}
        try:
            return self.params_model.model_validate(known)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or None
            raise ConfigError(
                f"{first['msg']} (a stored {self.name} connection)", field=field
            ) from None

    def secret_problem(self, given: Collection[str]) -> tuple[str, str] | None:
        """The field and message when the secrets ``given`` (their keys) are not enough."""
        for secret in self.secret_fields:
            if secret.required and secret.name not in given:
                return secret.name, f"give {secret.name}"
        if self.secret_required and self.secret_fields and not set(given) & set(self.secret_names):
            return self.secret_names[0], f"give {' or '.join(self.secret_names)}"
        return None

    def open(
        self,
        params: P | Mapping[str, Any],
        secret: Mapping[str, Any],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        http_options: HttpOptions | None = None,
    ) -> C:
        """The connector of a connection of this kind, not yet entered: ``params`` as the
        model or as stored, ``secret`` decrypted; ``transport`` serves every request
        in-process, ``http_options`` replaces the connection's own HTTP behaviour."""
        parsed = self.stored_params(params) if isinstance(params, Mapping) else params
        secrets = {k: str(v) for k, v in secret.items() if k in self.secret_names and v}
        problem = self.secret_problem(secrets)
        if problem is not None:
            raise ConfigError(f"the connection has no stored credential: {problem[1]}")
        return self.connect(parsed, secrets, transport, http_options)

    def require_serves(self, definition_type: str) -> None:
        """Refuse a definition type this kind cannot serve."""
        if definition_type not in self.serves:
            served = ", ".join(sorted(self.serves)) or "nothing"
            raise ConfigError(
                f"a {self.title} connection cannot serve {definition_type} (it serves {served})"
            )


def param_fields(model: type[BaseModel]) -> tuple[ParamField, ...]:
    """Each field of a parameters model as every face shows it; TypeError for a field that
    is not a scalar (a form could not show it, a file could not be exported plainly)."""
    return tuple(_param(name, info, model) for name, info in model.model_fields.items())


def _param(name: str, info: FieldInfo, model: type[BaseModel]) -> ParamField:
    scalar = _scalar(info.annotation)
    if scalar is None:
        raise TypeError(
            f"{model.__name__}.{name}: a connection parameter is text, a number or yes/no, "
            f"not {info.annotation!r}"
        )
    return ParamField(
        name=name,
        title=info.title or name.replace("_", " ").capitalize(),
        type=scalar,
        required=info.is_required(),
        default=None if info.is_required() else info.get_default(call_default_factory=True),
        help=info.description or "",
        shown_when=_shown_when(info),
    )


def _shown_when(info: FieldInfo) -> tuple[str, str] | None:
    """A field's ``json_schema_extra={"shown_when": {"other": "value"}}`` as a pair."""
    extra = info.json_schema_extra
    when = extra.get("shown_when") if isinstance(extra, dict) else None
    if isinstance(when, dict) and len(when) == 1:
        ((other, value),) = when.items()
        return str(other), str(value)
    return None


def _scalar(annotation: Any) -> type | None:
    """The scalar type of ``annotation`` (``X`` or ``X | None``), None for anything else."""
    annotation = _bare(annotation)
    if annotation in SCALARS:
        return cast(type, annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        args = [_bare(a) for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1 and args[0] in SCALARS and len(get_args(annotation)) == 2:
            return cast(type, args[0])
    return None


def _bare(annotation: Any) -> Any:
    """``annotation`` without its ``Annotated`` constraints."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation
