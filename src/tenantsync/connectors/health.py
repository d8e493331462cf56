"""The connection health check: the checks a connection's kind declares, run in order, each
line saying what was found or what is missing.

The first check of a kind is getting in (a token, a sign-in): when it fails, the others
are skipped. :func:`run_checks` is the one routine; the CLI's ``connection check``, the
console's health check and the ``connection_check`` definition type all come through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tenantsync.connectors.kind import Check
from tenantsync.connectors.kinds import DEFAULT_KIND, connection_kind, kind_of
from tenantsync.errors import SourceError

__all__ = ["Check", "CheckLine", "NamedCheck", "check_connection", "run_checks", "unreachable"]

NamedCheck = tuple[str, Check]


@dataclass(frozen=True)
class CheckLine:
    """One check: its name, whether it passed, and what was found or is missing."""

    name: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        """The line as plain data."""
        return asdict(self)


async def run_checks(checks: Sequence[NamedCheck], connector: object) -> list[CheckLine]:
    """Run ``checks`` on an opened connector in order; all are skipped when the first fails."""
    lines: list[CheckLine] = []
    for name, check in checks:
        if lines and not lines[0].ok:
            lines.append(CheckLine(name, False, _skipped(checks)))
            continue
        try:
            lines.append(CheckLine(name, True, await check(connector)))
        except SourceError as exc:
            lines.append(CheckLine(name, False, str(exc)))
    return lines


async def check_connection(connector: object, extra: Sequence[NamedCheck] = ()) -> list[CheckLine]:
    """The checks of the kind of an opened ``connector``, then the ``extra`` ones."""
    return await run_checks([*kind_of(connector).checks_of(connector), *extra], connector)


def unreachable(
    error: Exception, extra: Sequence[NamedCheck] = (), *, kind: str = DEFAULT_KIND
) -> list[CheckLine]:
    """The lines of a check of a ``kind`` connection that could not even be opened."""
    checks = [*connection_kind(kind).checks, *extra]
    if not checks:
        return [CheckLine("open", False, str(error))]
    first, *rest = checks
    return [CheckLine(first[0], False, str(error))] + [
        CheckLine(name, False, _skipped(checks)) for name, _check in rest
    ]


def _skipped(checks: Sequence[NamedCheck]) -> str:
    return f"skipped: no {checks[0][0]}"
