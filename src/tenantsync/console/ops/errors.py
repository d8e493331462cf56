"""Field errors for forms: every invalid field named, so a page can show each next to its
input, in plain words (what the value must be, never a validator's wording)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from tenantsync.errors import ConfigError

# What a value must be, per pydantic error type (the rest keep their message, reworded).
_MUST = {
    "missing": "required",
    "extra_forbidden": "not a setting of this type",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be a whole number (an integer)",
    "int_parsing": "must be a whole number (an integer)",
    "int_from_float": "must be a whole number (an integer)",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of names to values",
    "model_type": "must be a mapping of names to values",
    "model_attributes_type": "must be a mapping of names to values",
    "time_parsing": "must be a time like 22:00",
    "time_type": "must be a time like 22:00",
    "json_invalid": "is not valid JSON",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "must be greater than or equal to {}"),
    "greater_than": ("gt", "must be greater than {}"),
    "less_than_equal": ("le", "must be less than or equal to {}"),
    "less_than": ("lt", "must be less than {}"),
    "string_too_long": ("max_length", "at most {} characters"),
    "too_long": ("max_length", "at most {} items"),
    "string_too_short": ("min_length", "at least {} characters"),
    "too_short": ("min_length", "at least {} items"),
}


class FieldErrors(ConfigError):
    """Several fields are invalid; ``errors`` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        text = "; ".join(f"{k}: {v}" for k, v in errors.items())
        super().__init__(text, field=next(iter(errors), None))


def plain(err: ErrorDetails | dict[str, Any]) -> str:
    """One validation error in plain words."""
    kind = str(err.get("type", ""))
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    if kind in _MUST:
        return _MUST[kind]
    if kind in _BOUNDS:
        key, text = _BOUNDS[kind]
        if key in ctx:
            bound = ctx[key]
            return text.format(
                int(bound) if isinstance(bound, float) and bound.is_integer() else bound
            )
    if kind in ("literal_error", "enum") and "expected" in ctx:
        return f"must be {ctx['expected']}"
    message = str(err.get("msg", "is not valid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    message = message.replace("Input should be", "must be")
    return message.split(", unable to")[0]


def plain_path(parts: list[Any] | tuple[Any, ...], *, within: str = "item") -> str:
    """Where a nested error is, as a person reads it: ``0.operator`` within ``rules`` is
    "rule 1, operator"."""
    words: list[str] = []
    for part in parts:
        if isinstance(part, int) or (isinstance(part, str) and part.isdigit()):
            owner = words.pop() if words else within
            words.append(f"{owner.removesuffix('s')} {int(part) + 1}")
        else:
            words.append(str(part).replace("_", " "))
    return ", ".join(words)


def from_validation(exc: ValidationError, prefix: str = "") -> FieldErrors:
    """Field errors from a pydantic validation error (first message per field). A rule
    over several fields names the one it blames as ``field: why``; it goes to that field."""
    errors: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        message = plain(err)
        if not loc:
            loc, message = blame(message)
        name = prefix + (".".join(loc) if loc else "options")
        errors.setdefault(name, message)
    return FieldErrors(errors)


BLAMED = re.compile(r"^([a-z][a-z0-9_]*): (.+)$", re.S)


def blame(message: str) -> tuple[list[str], str]:
    """The field a rule over several fields blames (``ems_url: why`` → ``ems_url``) and
    its message; no field when it names none."""
    found = BLAMED.match(message)
    return ([found.group(1)], found.group(2)) if found else ([], message)


def field_errors(exc: ConfigError) -> dict[str, str]:
    """The per-field messages of a configuration error."""
    if isinstance(exc, FieldErrors):
        return exc.errors
    return {exc.field or "_": str(exc).split(": ", 1)[-1] if exc.field else str(exc)}
