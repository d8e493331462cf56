"""The connection health check as a definition type, so it can be scheduled, and the
shared routine the CLI and the console call: check a stored connection, keep the result."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from tenantsync.connectors.factory import load_connector
from tenantsync.connectors.health import Check, CheckLine, check_connection, unreachable
from tenantsync.connectors.http import httpx
from tenantsync.errors import ConfigError, SourceError
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Connection, RunStatus
from tenantsync.timeutil import utcnow
from tenantsync.worker.context import Outcome, RunContext
from tenantsync.worker.registry import DefinitionType


class ConnectionCheckOptions(BaseModel):
    """A connection check has no options: it checks the task's connection."""

    model_config = ConfigDict(extra="forbid")


def check_stored_connection(
    db: Database,
    settings: Settings,
    connection_id: int,
    *,
    extra: Sequence[tuple[str, Check]] = (),
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[CheckLine]:
    """Check a stored connection and record the result on it (last_check_*)."""
    connector = load_connector(db, settings, connection_id, transport=transport)

    async def run() -> list[CheckLine]:
        try:
            async with connector as opened:
                return await check_connection(opened, extra)
        except (SourceError, ConfigError) as exc:
            return unreachable(exc, extra)

    lines = asyncio.run(run())
    with db.session() as session:
        connection = session.get(Connection, connection_id)
        if connection is not None:
            connection.last_check_at = utcnow()
            connection.last_check_ok = all(line.ok for line in lines)
            connection.last_check_lines = [line.to_json() for line in lines]
    return lines


def run_connection_check(ctx: RunContext) -> Outcome:
    """The handler: check the task's connection; the run fails when a check fails."""
    if ctx.task.connection_id is None:
        raise ConfigError(f"task {ctx.task.name!r} has no connection", field="connection")
    lines = check_stored_connection(ctx.db, ctx.settings, ctx.task.connection_id)
    failed = [line for line in lines if not line.ok]
    messages = [
        {"level": "info" if line.ok else "error", "text": f"{line.name}: {line.detail}"}
        for line in lines
    ]
    counts = {"passed": len(lines) - len(failed), "failed": len(failed)}
    if failed:
        first = failed[0]
        return Outcome(
            status=RunStatus.FAILED,
            counts=counts,
            messages=messages,
            error=f"connection check failed: {first.name}: {first.detail}",
        )
    return Outcome(counts=counts, messages=messages)


DEFINITION_TYPE = DefinitionType(
    name="connection_check",
    title="Connection check",
    options_model=ConnectionCheckOptions,
    handler=run_connection_check,
    needs_connection=True,
)
