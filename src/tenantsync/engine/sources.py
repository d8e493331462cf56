"""Opening the source of a stored connection: the one place that reads a connection's
parameters and decrypts its secret.

A stored connection names its kind; the kind turns parameters and secret into an opened
connector, which runs on a private event-loop thread for as long as the run reads. Tests
and benchmarks plug the sandbox in here (``Sources(transport=...)``), through the same
code path as production.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast, runtime_checkable

from tenantsync.connectors.http import HttpOptions, httpx
from tenantsync.connectors.kinds import connection_kind
from tenantsync.connectors.loop import LoopThread, running
from tenantsync.engine.feature import Limits
from tenantsync.engine.registry import DefinitionType
from tenantsync.engine.run import RunContext
from tenantsync.errors import ConfigError, NotFound
from tenantsync.model.calendar import CalendarAsk, CalendarList, CalendarRead
from tenantsync.model.permissions import MailboxAcl, MailboxRef, ReadFailure, Right
from tenantsync.model.snapshot import Snapshot
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Connection
from tenantsync.store.secretbox import SecretBox

T = TypeVar("T")


Progress = Callable[[str, int], None]


class DirectorySource(Protocol):
    """Users, mailboxes (kind, location), groups and memberships of one organization.

    A full read takes everything; a delta read follows saved links. Each part of the read
    says in the snapshot whether it finished with proof (``Snapshot.problems``), each object
    that could not be read whole is named (``Snapshot.unreadable``).
    """

    delta_version: str
    """Changes when what the delta links track changes: a saved link of another version
    is not followed, everything is read once instead."""

    async def read_full(
        self, *, with_groups: bool, progress: Progress, known: frozenset[str] = frozenset()
    ) -> Snapshot:
        """Everything; ``known`` (the users the store holds mailboxes of) are the ones whose
        absence from a listing is checked one by one before it counts."""
        ...

    async def read_delta(
        self,
        *,
        users_link: str,
        groups_link: str | None,
        with_groups: bool,
        progress: Progress,
        pending: Iterable[str] = (),
    ) -> Snapshot:
        """What changed since the links, and ``pending`` users read again by id; raises
        DeltaExpired when a link is no longer known."""
        ...


class PermissionSource(Protocol):
    """Mailbox permissions, one result per mailbox asked about (synchronous: it runs its
    calls on the opened source's loop)."""

    def change_stamps(self, mailboxes: Sequence[MailboxRef]) -> dict[int, datetime | None]:
        """Each mailbox's current change time in the source (by store id), where known."""
        ...

    def read(
        self,
        mailboxes: Sequence[MailboxRef],
        rights: frozenset[Right],
        cancelled: Callable[[], bool],
    ) -> Iterator[MailboxAcl | ReadFailure]:
        """Every entry of ``rights`` per mailbox, in any order; a mailbox that cannot be read
        yields a ReadFailure. Raises AuthError when the account lacks a role."""
        ...

    def notes(self) -> list[str]:
        """Warnings about how the read went (a listing it fell back from), for the run."""
        ...

    def calls(self) -> dict[str, int]:
        """What reading cost so far: requests sent, throttled answers, retries."""
        ...


class CalendarSource(Protocol):
    """Mailbox calendars, one result per mailbox calendar asked about (synchronous: it runs
    its calls on the opened source's loop).

    A result is complete only when its read finished with proof (a delta round ended on
    its delta link, every page decoded, every series master it needs found); one that is
    not carries only why, and changes nothing. A mailbox the application may not read is
    ``refused``.
    """

    def calendars(
        self, mailboxes: Sequence[MailboxRef], cancelled: Callable[[], bool]
    ) -> Iterator[CalendarList]:
        """Each mailbox's calendars, the primary one first."""
        ...

    def read(
        self, asks: Sequence[CalendarAsk], cancelled: Callable[[], bool]
    ) -> Iterator[CalendarRead]:
        """One read per ask, in any order; raises AuthError when the account lacks a role."""
        ...

    def calls(self) -> dict[str, int]:
        """What reading cost so far: requests sent, throttled answers, retries."""
        ...


class Connector(Protocol):
    """What an opened connector of any kind offers the engine."""

    def directory_source(self) -> DirectorySource:
        """The connection's directory."""
        ...

    def permission_source(self, loop: LoopThread, concurrency: int) -> PermissionSource:
        """The connection's mailbox permissions."""
        ...

    def calendar_source(
        self,
        loop: LoopThread,
        concurrency: int,
        *,
        page_size: int = 100,
        attachment_content: bool = False,
        attachment_cap: int = 0,
    ) -> CalendarSource:
        """The connection's mailbox calendars."""
        ...


@runtime_checkable
class HasHttpOptions(Protocol):
    """Parameters of a kind that limits its own traffic (calls in flight, per second)."""

    def http_options(self) -> HttpOptions:
        """The HTTP behaviour the connection asks for."""
        ...


@runtime_checkable
class LooksUpDns(Protocol):
    """A directory that can say whether an object has a DN (Active Directory)."""

    async def dn_exists(self, dn: str) -> bool:
        """Whether the directory holds an object with this DN."""
        ...


class OpenedSource:
    """A connection's connector, opened on its own event loop for the length of a read."""

    def __init__(self, loop: LoopThread, connector: Any, name: str) -> None:
        self.loop = loop
        self.connector = connector
        self.name = name

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run one step of the read on the source's loop and wait for it."""
        return self.loop.run(coro)

    @property
    def directory(self) -> DirectorySource:
        """The connection's directory."""
        return cast(Connector, self.connector).directory_source()

    def check_scope(self, kind: str, value: str | None) -> None:
        """A DN scope naming nothing in a directory that can look DNs up: ConfigError naming
        the DN, before anything is read (other kinds learn DNs only by reading)."""
        if kind != "dn" or not value or not value.strip():
            return
        directory = self.directory
        if isinstance(directory, LooksUpDns) and not self.run(directory.dn_exists(value.strip())):
            raise ConfigError(
                f"the DN {value.strip()!r} does not exist in the directory of connection "
                f"{self.name!r}: no group, mailbox or container has it",
                field="scope",
            )

    def permissions(self, concurrency: int) -> PermissionSource:
        """The connection's mailbox permissions, read ``concurrency`` mailboxes at a time."""
        return cast(Connector, self.connector).permission_source(self.loop, concurrency)

    def calendars(
        self,
        concurrency: int,
        *,
        page_size: int = 100,
        attachment_content: bool = False,
        attachment_cap: int = 0,
    ) -> CalendarSource:
        """The connection's mailbox calendars, read ``concurrency`` mailboxes at a time."""
        return cast(Connector, self.connector).calendar_source(
            self.loop,
            concurrency,
            page_size=page_size,
            attachment_content=attachment_content,
            attachment_cap=attachment_cap,
        )


class Sources:
    """Opens stored connections; ``transport`` serves every request in-process (the
    sandbox's ASGI app) and ``retries`` replaces attempts and backoff (quick tests)."""

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retries: HttpOptions | None = None,
    ) -> None:
        self.transport = transport
        self.retries = retries

    @contextmanager
    def open(self, ctx: RunContext, definition: DefinitionType) -> Iterator[OpenedSource | None]:
        """The run's source, or None for a type that reads no connection."""
        if not definition.needs_connection:
            yield None
            return
        if ctx.task.connection_id is None:
            raise ConfigError(f"task {ctx.task.name!r} has no connection", field="connection")
        limits = definition.feature.limits(ctx.options)
        connector, name = self.connector(
            ctx.db, ctx.settings, ctx.task.connection_id, limits, serves=definition.name
        )
        with running(connector, name=f"source-{name}") as (loop, opened):
            yield OpenedSource(loop, opened, name)

    def connector(
        self,
        db: Database,
        settings: Settings,
        connection_id: int,
        limits: Limits | None = None,
        *,
        serves: str | None = None,
    ) -> tuple[Any, str]:
        """The unopened connector of a stored connection (checked to serve the definition
        type ``serves``), and the connection's name."""
        with db.session() as session:
            connection = session.get(Connection, connection_id)
            if connection is None:
                raise NotFound(f"connection {connection_id} does not exist")
            session.expunge(connection)
        kind = connection_kind(connection.kind)
        if serves is not None:
            kind.require_serves(serves)
        if connection.secret_ciphertext is None:
            raise ConfigError(f"connection {connection.name!r} has no stored credential")
        box = SecretBox.from_key_file(settings.effective_key_file, create=False)
        secret = box.decrypt(connection.secret_ciphertext)
        params = kind.stored_params(connection.params)
        own = params.http_options() if isinstance(params, HasHttpOptions) else HttpOptions()
        options = self._http_options(own, limits)
        connector = kind.open(params, secret, transport=self.transport, http_options=options)
        return connector, connection.name

    def _http_options(self, own: HttpOptions, limits: Limits | None) -> HttpOptions:
        """The connection's HTTP behaviour tightened by the definition's: never above either."""
        if limits is not None:
            rates = [r for r in (own.requests_per_second, limits.requests_per_second) if r]
            own = replace(
                own,
                max_concurrency=min(own.max_concurrency, limits.max_concurrency or 1_000_000),
                requests_per_second=min(rates) if rates else None,
            )
        if self.retries is not None:
            own = replace(
                own,
                max_attempts=self.retries.max_attempts,
                backoff_base=self.retries.backoff_base,
                backoff_max=self.retries.backoff_max,
            )
        return own
