"""The connection health check: can we get a token, read users and mailbox settings,
and reach the Exchange admin API? Each line says what is missing when it fails."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tenantsync.connectors.factory import M365Connector
from tenantsync.errors import SourceError


@dataclass(frozen=True)
class CheckLine:
    """One check: its name, whether it passed, and what was found or is missing."""

    name: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        """The line as plain data."""
        return asdict(self)


Check = Callable[[M365Connector], Awaitable[str]]
"""An extra check: returns what it found, raises SourceError naming what is missing."""

CHECK_NAMES = ("token", "read users", "read mailbox settings", "Exchange admin API")


def unreachable(error: Exception, extra: Sequence[tuple[str, Check]] = ()) -> list[CheckLine]:
    """The lines of a check that could not even open the connection."""
    names = [*CHECK_NAMES, *(name for name, _check in extra)]
    return [CheckLine(names[0], False, str(error))] + [
        CheckLine(name, False, "skipped: no token") for name in names[1:]
    ]


async def check_connection(
    connector: M365Connector, extra: Sequence[tuple[str, Check]] = ()
) -> list[CheckLine]:
    """Run every check in order (``extra`` ones last); all are skipped without a token."""
    lines: list[CheckLine] = []

    async def token() -> str:
        await connector.tokens.token(connector.graph.scope)
        return "token issued for Microsoft Graph"

    async def users() -> str:
        await connector.graph.probe("users")
        return "users readable (User.Read.All)"

    async def settings() -> str:
        await connector.graph.probe("mailboxSettings")
        return "mailbox settings readable (MailboxSettings.Read)"

    async def exchange() -> str:
        await connector.exchange.run("Get-Mailbox", {"ResultSize": 1})
        return "Exchange admin API answered Get-Mailbox (Exchange.ManageAsApp + role)"

    checks: list[tuple[str, Callable[[], Awaitable[str]]]] = [
        (CHECK_NAMES[0], token),
        (CHECK_NAMES[1], users),
        (CHECK_NAMES[2], settings),
        (CHECK_NAMES[3], exchange),
    ]
    checks.extend((name, _bound(check, connector)) for name, check in extra)
    for name, check in checks:
        if lines and not lines[0].ok:
            lines.append(CheckLine(name, False, "skipped: no token"))
            continue
        try:
            lines.append(CheckLine(name, True, await check()))
        except SourceError as exc:
            lines.append(CheckLine(name, False, str(exc)))
    return lines


def _bound(check: Check, connector: M365Connector) -> Callable[[], Awaitable[str]]:
    async def run() -> str:
        return await check(connector)

    return run
