"""Field errors for forms: every invalid field named, so a page can show each next to its input."""

from __future__ import annotations

from pydantic import ValidationError

from tenantsync.errors import ConfigError


class FieldErrors(ConfigError):
    """Several fields are invalid; ``errors`` maps each field to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        text = "; ".join(f"{k}: {v}" for k, v in errors.items())
        super().__init__(text, field=next(iter(errors), None))


def from_validation(exc: ValidationError, prefix: str = "") -> FieldErrors:
    """Field errors from a pydantic validation error (first message per field)."""
    errors: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        name = prefix + (".".join(loc) if loc else "options")
        errors.setdefault(name, err["msg"].removeprefix("Value error, "))
    return FieldErrors(errors)


def field_errors(exc: ConfigError) -> dict[str, str]:
    """The per-field messages of a configuration error."""
    if isinstance(exc, FieldErrors):
        return exc.errors
    return {exc.field or "_": str(exc).split(": ", 1)[-1] if exc.field else str(exc)}
