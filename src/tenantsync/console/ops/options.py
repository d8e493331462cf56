"""A definition type's options as form fields, and form values back into validated options."""

from __future__ import annotations

import enum
import json
import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from tenantsync.console.ops.errors import FieldErrors, from_validation


@dataclass(frozen=True)
class OptionField:
    """One input of an options form."""

    name: str
    label: str
    widget: str  # checkbox | number | text | select | json
    description: str
    choices: tuple[str, ...]
    required: bool
    default: str


def _base(annotation: Any) -> tuple[Any, bool]:
    """The annotation without ``| None``, and whether None was allowed."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _widget(annotation: Any) -> tuple[str, tuple[str, ...]]:
    base, _ = _base(annotation)
    if base is bool:
        return "checkbox", ()
    if base in (int, float):
        return "number", ()
    if base is str:
        return "text", ()
    if isinstance(base, type) and issubclass(base, enum.Enum):
        return "select", tuple(str(m.value) for m in base)
    if typing.get_origin(base) is typing.Literal:
        return "select", tuple(str(a) for a in typing.get_args(base))
    return "json", ()


def _default_text(info: FieldInfo, widget: str) -> str:
    if info.is_required():
        return ""
    value = info.get_default(call_default_factory=True)
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if widget == "json":
        return json.dumps(value, ensure_ascii=False)
    return str(value).lower() if isinstance(value, bool) else str(value)


def option_fields(model: type[BaseModel]) -> list[OptionField]:
    """The form fields of an options model, in declaration order."""
    out = []
    for name, info in model.model_fields.items():
        widget, choices = _widget(info.annotation)
        out.append(
            OptionField(
                name=name,
                label=name.replace("_", " "),
                widget=widget,
                description=info.description or "",
                choices=choices,
                required=info.is_required(),
                default=_default_text(info, widget),
            )
        )
    return out


def values_of(model: type[BaseModel], options: dict[str, Any]) -> dict[str, str]:
    """Stored options as the text each form field shows."""
    out: dict[str, str] = {}
    for f in option_fields(model):
        if f.name not in options:
            out[f.name] = f.default
            continue
        value = options[f.name]
        if f.widget == "json":
            out[f.name] = json.dumps(value, ensure_ascii=False)
        elif isinstance(value, bool):
            out[f.name] = "true" if value else "false"
        else:
            out[f.name] = "" if value is None else str(value)
    return out


def options_from_form(model: type[BaseModel], form: dict[str, str]) -> dict[str, Any]:
    """Validated options from submitted form values; errors name each bad field."""
    raw: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in option_fields(model):
        text = form.get(f"opt.{f.name}", "").strip()
        if f.widget == "checkbox":
            raw[f.name] = text in ("on", "true", "1")
        elif text == "":
            continue
        elif f.widget == "json":
            try:
                raw[f.name] = json.loads(text)
            except ValueError:
                errors[f.name] = "is not valid JSON"
        else:
            raw[f.name] = text
    if errors:
        raise FieldErrors(errors)
    return validate_options(model, raw)


def validate_options(model: type[BaseModel], raw: dict[str, Any]) -> dict[str, Any]:
    """Options checked by the type's model, stored as given (defaults stay implicit)."""
    try:
        parsed = model.model_validate(raw)
    except ValidationError as exc:
        raise from_validation(exc) from None
    return parsed.model_dump(mode="json", include=set(raw))
