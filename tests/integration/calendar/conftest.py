"""A small generated tenant loaded into the store, with a calendar replication harness."""

from __future__ import annotations

import pytest

from tenantsync.connectors.http import HttpOptions
from tenantsync.sandbox import SandboxTenant, generate_tenant
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tests.integration.calendar.harness import CalendarHarness

QUICK = HttpOptions(max_attempts=6, backoff_base=0.01, backoff_max=0.05, retry_after_max=0.05)


@pytest.fixture
def tenant() -> SandboxTenant:
    return generate_tenant(24, seed=7)


@pytest.fixture
def harness(db: Database, settings: Settings, tenant: SandboxTenant) -> CalendarHarness:
    return CalendarHarness(db, settings, tenant, retries=QUICK).setup()
