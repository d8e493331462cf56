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


def test_a_read_only_account_changes_its_password_and_its_other_tab_is_signed_out(
    visit: Callable[..., Visit],
) -> None:
    here, elsewhere = visit(EMAILS[Role.READ_ONLY]), visit(EMAILS[Role.READ_ONLY])
    page = here.page
    page.click("header a:has-text('Your account')")
    expect(page.locator("h1")).to_have_text("Your account")
    new = "a much longer passphrase 2026"
    page.fill("#f-current_password", "not my password at all")
    page.fill("#f-new_password", new)
    page.fill("#f-confirm_password", new + "!")
    page.click("button:has-text('Change password')")
    expect(page.locator("#err-current_password")).to_have_text("the current password is wrong")
    expect(page.locator("#err-confirm_password")).to_have_text("the two new passwords differ")
    here.shot("change-password-refused")

    page.fill("#f-current_password", PASSWORD)
    page.fill("#f-new_password", new)
    page.fill("#f-confirm_password", new)
    page.click("button:has-text('Change password')")
    expect(page.locator(".flash")).to_have_text(
        "Password changed; your other sessions were signed out"
    )
    here.shot("change-password-done")
    elsewhere.go("/runs")
    expect(elsewhere.page.locator("h1")).to_contain_text("Sign in")
    elsewhere.sign_in(EMAILS[Role.READ_ONLY], new)
    assert here.problems == [] and elsewhere.problems == []
