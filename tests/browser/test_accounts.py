"""A super administrator manages console accounts in a browser and sees what a person can
open; administrators do not see the Accounts page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tenantsync.store.models import Role
from tests.browser.conftest import Console, Visit
from tests.support.console import EMAILS, PASSWORD

pytestmark = pytest.mark.browser


def test_a_super_administrator_manages_accounts_and_sees_what_a_person_can_open(
    visit: Callable[..., Visit], console: Console
) -> None:
    root = visit(EMAILS[Role.SUPER_ADMIN])
    page = root.page
    page.click("header nav a:has-text('Accounts')")
    expect(page.locator("h1")).to_have_text("Console accounts")
    page.fill("#f-email", "megan@example.com")
    page.fill("#f-password", PASSWORD)
    page.select_option("#f-role", "admin")
    page.click("button:has-text('Add account')")
    expect(page.locator(".flash")).to_have_text("Account megan@example.com added")
    row = page.locator("tr", has_text="megan@example.com")
    expect(row).to_contain_text("active")
    row.locator("button:has-text('disable')").click()
    expect(page.locator(".flash")).to_contain_text("megan@example.com disabled")
    me = page.locator("tr", has_text=EMAILS[Role.SUPER_ADMIN])
    me.locator("button:has-text('disable')").click()
    expect(page.locator("#problem")).to_contain_text("last active super administrator")
    root.shot("accounts-last-super-administrator")

    root.go(f"/mailboxes/{console.seeded.user_id}/delegates")
    opens = page.locator("tr", has_text="info@contoso.example")
    expect(opens).to_contain_text("task nightly probe")
    expect(opens).to_contain_text("Helpdesk")
    root.shot("delegate-can-open")
    assert root.problems == []

    admin = visit(EMAILS[Role.ADMIN])
    expect(admin.page.locator("header nav")).not_to_contain_text("Accounts")
    response = admin.page.goto(f"{console.url}/accounts")
    assert response is not None and response.status == 403
