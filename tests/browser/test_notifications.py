"""An account subscribes its webhook to an organization's failures and the change feed in a
browser, sees the secret tenantsync made once, and the subscription listed after."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tenantsync.store.models import Role
from tests.browser.conftest import Visit
from tests.support.console import EMAILS

pytestmark = pytest.mark.browser


def test_a_read_only_account_subscribes_a_webhook(visit: Callable[..., Visit]) -> None:
    reader = visit(EMAILS[Role.READ_ONLY])
    page = reader.page
    page.click("header nav a:has-text('Notifications')")
    expect(page.locator("h1")).to_have_text("Notifications")
    expect(page.locator("#subscriptions")).to_contain_text("No subscriptions.")
    page.select_option("#f-channel", "webhook")
    page.check("input[name='event_failed']")
    page.check("input[name='event_changes']")
    page.fill("#f-url", "https://archive.example/hooks/tenantsync")
    page.click("button:has-text('Subscribe')")
    secret = page.locator("#new-secret")
    expect(secret).to_be_visible()
    assert len(secret.inner_text()) >= 32
    reader.shot("notifications-secret-once")
    reader.go("/notifications")
    row = page.locator("#subscriptions tr", has_text="archive.example")
    expect(row).to_contain_text("failed, changes")
    expect(page.locator("#new-secret")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text("SMTP server")
    assert reader.problems == []
