"""A super administrator opens a mailbox's calendar in a browser: the week and the agenda
in the zone they pick, private items masked, the replication state; they issue a feed for
the owner and the feed answers without a session. An administrator may not open it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import httpx
import pytest
from playwright.sync_api import expect

from tenantsync.sandbox import generate_tenant
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Role
from tests.browser.conftest import Console, Visit
from tests.integration.calendar.harness import CalendarHarness, people
from tests.support.console import EMAILS

pytestmark = pytest.mark.browser


@pytest.fixture
def console_worker() -> bool:
    """The calendar harness runs its sync with its own worker and sandbox."""
    return False


def test_a_super_administrator_reads_a_calendar_and_issues_a_feed(
    visit: Callable[..., Visit], console: Console, db: Database, settings: Settings
) -> None:
    tenant = generate_tenant(16, seed=21)
    harness = CalendarHarness(db, settings, tenant, organization_name="fabrikam").setup()
    owner = people(tenant)[0]
    today = datetime.now(UTC).date()
    when = datetime.combine(today + timedelta(days=1), time(8), UTC)
    tenant.add_event(owner, "Salary talk", when, when + timedelta(hours=1), sensitivity="private")
    tenant.add_event(owner, "Design review", when + timedelta(hours=2), when + timedelta(hours=3))
    assert harness.run(harness.task("calendars")).status == "succeeded"
    mailbox = harness.mailbox_id(owner)

    tab = visit(EMAILS[Role.SUPER_ADMIN])
    page = tab.page
    tab.go(f"/mailboxes/{mailbox}")
    expect(page.locator("#calendar-state")).to_contain_text("healthy")
    page.click("a:has-text('Calendar')")
    expect(page.locator("h1")).to_contain_text("Calendar of")
    page.select_option("select[name=tz]", "Europe/Berlin")
    page.fill("input[name=start]", today.isoformat())
    page.click("#calendar-controls button[type=submit]")
    week = page.locator("#week")
    expect(week).to_contain_text("Design review")
    # 10:00 UTC is 11:00 in Berlin in winter (the page joins times with an en dash).
    expect(week).to_contain_text("11:00\u201312:00")
    expect(week).to_contain_text("Private appointment")
    assert "Salary talk" not in page.content()
    tab.shot("week")
    page.select_option("select[name=view]", "agenda")
    page.click("#calendar-controls button[type=submit]")
    expect(page.locator("#agenda")).to_contain_text("Design review")
    expect(page.locator("#replication")).to_contain_text("healthy")
    tab.shot("agenda")

    page.click("#issue-feed button[type=submit]")
    notice = page.locator(".flash")
    expect(notice).to_contain_text("/calendar-feeds/")
    url = notice.inner_text().split(": ", 1)[1].strip()
    feed = httpx.get(url, timeout=10)
    assert feed.status_code == 200 and "Salary talk" in feed.text  # the owner sees it all
    tab.shot("feed-issued")
    assert not tab.problems, tab.problems

    other = visit(EMAILS[Role.ADMIN])
    other.go(f"/mailboxes/{mailbox}/calendar")
    assert "only super administrators" in other.page.content()
