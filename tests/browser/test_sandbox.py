"""The administrator's first day against a real (sandbox) tenant, in a browser: add the
organization and its domains, a connection to the sandbox over HTTPS, check it, create a
user-sync definition, schedule and task, preview, apply, and find a shared mailbox marked
non-billable."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tenantsync.engine.registry import Registry, default_registry
from tenantsync.sandbox import (
    SandboxTenant,
    ServedSandbox,
    create_app,
    generate_tenant,
    serve_in_thread,
)
from tenantsync.store.models import Role
from tests.browser.conftest import Console, Visit
from tests.support.console import EMAILS

pytestmark = pytest.mark.browser
RUN_TIMEOUT_MS = 30_000


@pytest.fixture
def registry() -> Registry:
    return default_registry()


@pytest.fixture(scope="module")
def tenant() -> SandboxTenant:
    return generate_tenant(30, seed=4)


@pytest.fixture(scope="module")
def served(
    tenant: SandboxTenant, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedSandbox]:
    with serve_in_thread(
        create_app(tenant, latency=0), data_dir=tmp_path_factory.mktemp("sandbox")
    ) as running:
        yield running


def test_a_user_sync_from_the_sandbox_set_up_in_the_browser(
    visit: Callable[..., Visit], console: Console, tenant: SandboxTenant, served: ServedSandbox
) -> None:
    creds = served.credentials()
    tab = visit(EMAILS[Role.SUPER_ADMIN])
    page = tab.page

    tab.go("/organizations")
    page.fill("#f-name", "lamna")
    page.click("form.form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("lamna")
    for domain in tenant.domains:
        page.fill("#domain", domain)
        page.click("form.inline-form button[type=submit]")
        expect(page.locator("ul.plain")).to_contain_text(domain)

    page.click("a:has-text('Add a connection')")
    page.fill("#f-name", "sandbox")
    page.fill("#f-tenant_id", str(creds["tenant_id"]))
    page.fill("#f-client_id", str(creds["client_id"]))
    for field in ("authority_host", "graph_url", "exchange_url"):
        page.fill(f"#f-{field}", str(creds[field]))
    page.fill("#f-ca_file", str(Path(str(creds["ca_file"]))))
    page.fill("#f-client_secret", str(creds["client_secret"]))
    page.click("form.form button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Connection sandbox saved")
    assert str(creds["client_secret"]) not in page.content()
    connection_url = page.url
    page.click("button:has-text('Run health check')")
    expect(page.locator("h1")).to_contain_text("succeeded", timeout=RUN_TIMEOUT_MS)
    page.goto(connection_url)
    expect(page.locator("ul.lines")).to_contain_text("token: ok")
    tab.shot("sandbox-connection-checked")

    page.click("p.crumbs a")
    org_url = page.url
    page.click("a:has-text('Add a definition')")
    page.select_option("select[name=type]", "user_sync")
    page.click("button:has-text('Next')")
    page.fill("#f-name", "all users")
    page.click("form.form button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Definition all users saved")

    page.click("a:has-text('Add a schedule')")
    page.fill("#f-name", "hourly")
    page.fill("#f-interval", "1")
    page.select_option("#f-interval_unit", "hours")
    page.click("form.form button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Schedule hourly saved")

    page.click("a:has-text('Add a task')")
    page.fill("#f-name", "users")
    page.select_option("#f-definition_id", label="all users (user_sync)")
    page.select_option("#f-schedule_id", label="hourly")
    page.select_option("#f-connection_id", label="sandbox")
    page.click("form.form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Task users")
    tab.shot("user-sync-task")

    page.click("button:has-text('Preview')")
    expect(page.locator("h1")).to_contain_text("succeeded", timeout=RUN_TIMEOUT_MS)
    expect(page.locator(".run-summary .words")).to_contain_text("mailboxes to add")
    tab.shot("user-sync-preview")
    page.click("button:has-text('Apply')")
    expect(page.locator("h1")).to_contain_text("Run #")
    expect(page.locator("h1")).to_contain_text("succeeded", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("nav.tabs a.current")).to_have_text("Changes")
    tab.shot("user-sync-applied")

    page.goto(org_url)
    page.click("a:has-text('Mailboxes')")
    page.select_option("select[name=kind]", "shared")
    page.select_option("select[name=billable]", "no")
    page.click("button:has-text('Filter')")
    shared = page.locator("table tbody tr").first
    expect(shared).to_contain_text("shared")
    expect(shared).to_contain_text("no — shared mailbox")
    shared.locator("a").click()
    expect(page.locator("#billable")).to_have_text("no — shared mailbox")
    tab.shot("shared-mailbox-non-billable")
    assert tab.problems == []
