"""The connection health check as a definition type, so it can be scheduled, and the
shared routine the CLI and the console call: check a stored connection, keep the result."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from tenantsync.connectors.health import Check, CheckLine, check_connection, unreachable
from tenantsync.connectors.kinds import DEFAULT_KIND, kind_of
from tenantsync.engine.feature import ChangeList, Limits
from tenantsync.engine.plan import Plan
from tenantsync.engine.registry import DefinitionType
from tenantsync.engine.run import RunContext
from tenantsync.engine.sources import OpenedSource, Sources
from tenantsync.errors import ConfigError, SourceError
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Connection
from tenantsync.timeutil import utcnow


class ConnectionCheckOptions(BaseModel):
    """A connection check has no options: it checks the task's connection."""

    model_config = ConfigDict(extra="forbid")


def check_stored_connection(
    db: Database,
    settings: Settings,
    connection_id: int,
    *,
    extra: Sequence[tuple[str, Check]] = (),
    sources: Sources | None = None,
) -> list[CheckLine]:
    """Check a stored connection and record the result on it (last_check_*)."""

    async def run() -> list[CheckLine]:
        try:
            connector, _name = (sources or Sources()).connector(db, settings, connection_id)
            async with connector as opened:
                return await check_connection(opened, extra)
        except (SourceError, ConfigError) as exc:
            return unreachable(exc, extra, kind=_kind(db, connection_id))

    lines = asyncio.run(run())
    with db.session() as session:
        _record(session, connection_id, lines)
    return lines


def _kind(db: Database, connection_id: int) -> str:
    with db.session() as session:
        connection = session.get(Connection, connection_id)
        return connection.kind if connection is not None else DEFAULT_KIND


def _record(session: Session, connection_id: int, lines: Sequence[CheckLine]) -> None:
    connection = session.get(Connection, connection_id)
    if connection is not None:
        connection.last_check_at = utcnow()
        connection.last_check_ok = all(line.ok for line in lines)
        connection.last_check_lines = [line.to_json() for line in lines]


@dataclass
class CheckPlan(ChangeList):
    """No changes; the lines the check gave, kept on the connection when applied."""

    lines: list[CheckLine] = field(default_factory=list)


@dataclass
class CheckReading:
    """The check's lines; a check reads no part that could be incomplete."""

    lines: list[CheckLine]
    incomplete: list[str] = field(default_factory=list)
    retry: SourceError | None = None


class ConnectionCheck:
    """The feature: run the checks over the task's connection, keep the result on it."""

    def limits(self, options: object) -> Limits | None:
        """A check makes a handful of calls: the connection's own limits do."""
        return None

    def read(
        self, ctx: RunContext, source: OpenedSource, *, full: str | None = None
    ) -> CheckReading:
        """Every check, in order."""
        try:
            lines = source.run(check_connection(source.connector))
        except (SourceError, ConfigError) as exc:
            lines = unreachable(exc, kind=kind_of(source.connector).name)
        return CheckReading(lines)

    def plan(self, ctx: RunContext, session: Session, reading: CheckReading) -> CheckPlan:
        """No changes: the lines as messages, and a failure when a check failed."""
        failed = [line for line in reading.lines if not line.ok]
        messages = [
            {"level": "info" if line.ok else "error", "text": f"{line.name}: {line.detail}"}
            for line in reading.lines
        ]
        error = f"connection check failed: {failed[0].name}: {failed[0].detail}" if failed else None
        return CheckPlan(
            Plan(),
            {"passed": len(reading.lines) - len(failed), "failed": len(failed)},
            messages,
            error=error,
            lines=reading.lines,
        )

    def apply(self, ctx: RunContext, session: Session, planned: CheckPlan) -> None:
        """Keep the result on the connection."""
        assert ctx.task.connection_id is not None
        _record(session, ctx.task.connection_id, planned.lines)


DEFINITION_TYPE = DefinitionType(
    name="connection_check",
    title="Connection check",
    options_model=ConnectionCheckOptions,
    feature=ConnectionCheck(),
    needs_connection=True,
)
