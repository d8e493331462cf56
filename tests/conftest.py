"""Shared fixtures: a migrated store on SQLite and on PostgreSQL, settings in a temp dir."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tests.support.postgres import PostgresServer, start_postgres

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        server = start_postgres()
    except (RuntimeError, OSError) as exc:
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL could not be started: {exc}")
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    yield server
    server.stop()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tenantsync.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        return _sqlite_url(tmp_path)
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def settings(data_dir: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        poll_seconds=0.05,
        lease_seconds=2,
        retry_backoff_seconds=0,
    )


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    """A migrated store."""
    database = Database.from_settings(settings)
    database.upgrade()
    yield database
    database.dispose()
