"""User sync fixtures: a fresh small sandbox tenant per test (tests change it) and the
``users`` task configured against it, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette

from tenantsync.sandbox import SandboxTenant, create_app, generate_tenant
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tests.integration.user_sync.harness import UserSync

MAILBOXES = 60


@pytest.fixture
def tenant() -> SandboxTenant:
    return generate_tenant(MAILBOXES, seed=5)


@pytest.fixture
def app(tenant: SandboxTenant) -> Starlette:
    return create_app(tenant, latency=0)


@pytest.fixture
def sync(
    db: Database, settings: Settings, tenant: SandboxTenant, app: Starlette, tmp_path: Path
) -> UserSync:
    return UserSync(db, settings, tenant, app, tmp_path)
