"""Engines, sessions and the schema check that guards every process start."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tenantsync.errors import SchemaMismatch, SettingsError, StoreError
from tenantsync.settings import Settings, mask_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class Database:
    """One database: its engine and a session factory."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """The database named by the settings (the SQLite file in the data directory by default)."""
        url = settings.effective_database_url
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return cls(url)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on error."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def current_revision(self) -> str | None:
        """The Alembic revision the database is at, or None when it was never migrated."""
        try:
            with self.engine.connect() as conn:
                return MigrationContext.configure(conn).get_current_revision()
        except OperationalError as exc:
            raise StoreError(f"cannot open the database {mask_url(self.url)}: {exc.orig}") from exc

    def check_schema(self) -> None:
        """Stop with a message naming the fixing command unless the schema is at head."""
        current = self.current_revision()
        script = ScriptDirectory.from_config(alembic_config(self.url))
        head = script.get_current_head()
        if current == head:
            return
        if current is None:
            raise SchemaMismatch(
                f"the database {mask_url(self.url)} is not initialized: "
                "run `tenantsync db upgrade` (or `tenantsync init`)"
            )
        known = {rev.revision for rev in script.walk_revisions()}
        if current not in known:
            raise SchemaMismatch(
                f"the database {mask_url(self.url)} is at schema {current}, newer than this "
                f"tenantsync knows (head {head}): upgrade tenantsync to the version that wrote it"
            )
        raise SchemaMismatch(
            f"the database {mask_url(self.url)} is at schema {current}, behind {head}: "
            "run `tenantsync db upgrade`"
        )

    def upgrade(self, revision: str = "head") -> None:
        """Migrate the schema up to ``revision``."""
        from alembic import command

        with self.engine.begin() as conn:
            cfg = alembic_config(self.url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str) -> Config:
    """An Alembic configuration pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise SettingsError(f"not a database URL: {mask_url(url)}", field="database_url") from exc
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": 30}
    elif parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        # No pre-ping: it doubles the cost of a queue claim (a round trip per checkout).
        # A connection lost to a server restart is detected on its first use; the pool
        # then reconnects, workers back off and retry. Recycling avoids idle timeouts.
        kwargs["pool_recycle"] = 600
    else:
        raise SettingsError(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql",
            field="database_url",
        )
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ArgumentError) as exc:
        raise SettingsError(f"cannot use {mask_url(url)}: {exc}", field="database_url") from exc
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
