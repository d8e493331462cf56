"""A task scoped to one group syncs that group's members only, however the group is named."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette

from tenantsync.sandbox import SandboxTenant
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import MailboxKind
from tests.integration.user_sync.harness import UserSync


def nested_group(tenant: SandboxTenant) -> str:
    """A mail-enabled group with members, nested ones included when the tenant has them."""
    groups = [g for g in tenant.groups.values() if g.mail and g.members]
    nested = [g for g in groups if any(m in tenant.groups for m in g.members)]
    return (nested or groups)[0].id


@pytest.mark.parametrize("how", ["group", "address"])
def test_a_group_scope_syncs_its_transitive_members_only(
    how: str,
    db: Database,
    settings: Settings,
    tenant: SandboxTenant,
    app: Starlette,
    tmp_path: Path,
) -> None:
    group = tenant.groups[nested_group(tenant)]
    value = group.display_name if how == "group" else str(group.mail)
    sync = UserSync(db, settings, tenant, app, tmp_path, scope={how: value})
    result = sync.run()
    assert result.status == "succeeded", result.error
    people = {m.source_id for m in sync.where(lambda m: m.kind is not MailboxKind.GROUP)}
    members = set(tenant.transitive_members(group.id))
    assert people and people <= members
    assert result.counts["skipped"]["outside the task's scope"] > 0


def test_a_scope_naming_no_group_fails_the_run(
    db: Database, settings: Settings, tenant: SandboxTenant, app: Starlette, tmp_path: Path
) -> None:
    sync = UserSync(db, settings, tenant, app, tmp_path, scope={"group": "Nobody's Group"})
    result = sync.run()
    assert result.status == "failed"
    assert result.error is not None and "Nobody's Group" in result.error
