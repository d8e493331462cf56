"""What an administrator does in a browser: sign in, add a connection, create a definition,
a schedule and a task, preview, apply, see a failed run on the dashboard, and open delegate
access (a super administrator may, a read-only account may not)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tenantsync.store.models import Role
from tests.browser.conftest import Console, Visit
from tests.support.console import EMAILS

pytestmark = pytest.mark.browser
SECRET = "browser-secret-3c9d1e"
RUN_TIMEOUT_MS = 20_000


def test_an_administrator_sets_up_previews_and_applies_a_task(
    visit: Callable[..., Visit], console: Console
) -> None:
    tab = visit(EMAILS[Role.ADMIN])
    page = tab.page
    expect(page.locator("h1")).to_have_text("Dashboard")
    tab.shot("signed-in")
    org = console.seeded.org_id

    tab.go(f"/organizations/{org}/connections/new")
    page.fill("#f-name", "contoso tenant")
    page.fill("#f-tenant_id", "11111111-2222-3333-4444-555555555555")
    page.fill("#f-client_id", "66666666-7777-8888-9999-000000000000")
    page.fill("#f-client_secret", SECRET)
    page.click("form.form button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Connection contoso tenant saved")
    expect(page.locator("form.form")).to_contain_text("Stored: client_secret")
    assert SECRET not in page.content()
    tab.shot("connection-added")

    tab.go(f"/organizations/{org}/definitions/new")
    page.select_option("select[name=type]", "probe")
    page.click("button:has-text('Next')")
    page.fill("#f-name", "weekly adds")
    page.fill("#f-additions", "-1")
    page.click("form.form button[type=submit]")
    expect(page.locator("#err-additions")).to_contain_text("greater than or equal to 0")
    tab.shot("definition-error-next-to-field")
    page.fill("#f-additions", "4")
    page.fill("#f-removals", "1")
    page.click("form.form button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Definition weekly adds saved")

    tab.go(f"/organizations/{org}/schedules/new")
    page.fill("#f-name", "every hour")
    page.fill("#f-interval", "1")
    page.select_option("#f-interval_unit", "hours")
    page.click("form.form button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Schedule every hour saved")

    tab.go(f"/organizations/{org}/tasks/new")
    page.fill("#f-name", "helpdesk adds")
    page.select_option("#f-definition_id", label="weekly adds (probe)")
    page.select_option("#f-schedule_id", label="every hour")
    page.select_option("#f-connection_id", label="contoso tenant")
    page.check("input[name=scope_kind][value=group]")
    page.select_option("select[name=scope_group]", "Helpdesk")
    page.click("form.form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Task helpdesk adds")
    expect(page.locator("dl.facts")).to_contain_text("group: Helpdesk")
    tab.shot("task-created")

    page.click("button:has-text('Preview')")
    expect(page.locator("h1")).to_contain_text("succeeded", timeout=RUN_TIMEOUT_MS)
    expect(page.locator(".run-summary .words")).to_contain_text("4 mailboxes to add")
    tab.shot("preview")
    page.click("button:has-text('Apply')")
    expect(page.locator("h1")).to_contain_text("succeeded", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("h1")).to_contain_text("Run #")
    expect(page.locator("nav.tabs a.current")).to_have_text("Changes")
    expect(page.locator("body")).to_contain_text("old0@contoso.example")
    tab.shot("applied")
    assert tab.problems == []  # no script errors, nothing blocked by the CSP


def test_a_failed_run_shows_on_the_dashboard(visit: Callable[..., Visit], console: Console) -> None:
    tab = visit(EMAILS[Role.ADMIN])
    page = tab.page
    tab.go(f"/tasks/{console.seeded.task_id}")
    page.click("button:has-text('Run now')")
    expect(page.locator("h1")).to_contain_text("failed", timeout=RUN_TIMEOUT_MS)
    run_id = re.search(r"/runs/(\d+)", page.url)
    assert run_id is not None
    tab.go("/")
    row = page.locator("tr.row-failed", has_text="nightly probe")
    expect(row).to_contain_text("tenant unreachable: 503 from graph")
    expect(row.locator(f"a[href='/runs/{run_id.group(1)}']")).to_be_visible()
    expect(page.locator(".alert")).to_contain_text("1 task failed")
    tab.shot("dashboard-failed-run")


def test_delegate_access_is_for_super_administrators_only(
    visit: Callable[..., Visit], console: Console
) -> None:
    shared = console.seeded.shared_id
    root = visit(EMAILS[Role.SUPER_ADMIN])
    root.go(f"/organizations/{console.seeded.org_id}/mailboxes")
    root.page.select_option("select[name=billable]", "no")
    root.page.select_option("select[name=kind]", "shared")
    root.page.click("button:has-text('Filter')")
    root.page.click("a:has-text('info@contoso.example')")
    expect(root.page.locator("#billable")).to_have_text("no — shared mailbox")
    root.shot("shared-mailbox-non-billable")
    root.page.click("a:has-text('Delegate access')")
    grant = root.page.locator("tr", has_text="adele@contoso.example")
    expect(grant).to_contain_text("full_access")
    expect(grant).to_contain_text("task nightly probe")
    expect(grant).to_contain_text("Helpdesk")
    root.page.fill("#delegate", "room1@contoso.example")
    root.page.select_option("#right", "send_as")
    root.page.click("button:has-text('Grant')")
    expect(root.page.locator("tr", has_text="room1@contoso.example")).to_contain_text(
        "manual, by root@example.com"
    )
    root.shot("delegate-access-super-admin")

    reader = visit(EMAILS[Role.READ_ONLY])
    reader.go(f"/mailboxes/{shared}")
    expect(reader.page.locator("body")).to_contain_text("Only super administrators")
    response = reader.page.goto(f"{console.url}/mailboxes/{shared}/delegates")
    assert response is not None and response.status == 403
    expect(reader.page.locator("body")).not_to_contain_text("adele@contoso.example")
    reader.shot("delegate-access-refused-read-only")
