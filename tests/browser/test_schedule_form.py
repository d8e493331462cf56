"""The schedule form in a browser: an interval with its unit, a time zone picked from the
list, weekdays ticked, the schedule said in words with its next five runs before saving."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tenantsync.store.models import Role
from tests.browser.conftest import Console, Visit
from tests.support.console import EMAILS

pytestmark = pytest.mark.browser


def test_office_hours_are_said_in_words_with_the_next_five_runs(
    visit: Callable[..., Visit], console: Console
) -> None:
    tab = visit(EMAILS[Role.ADMIN])
    page = tab.page
    tab.go(f"/organizations/{console.seeded.org_id}/schedules/new")
    page.fill("#f-name", "office")
    page.fill("#f-interval", "15")
    page.select_option("#f-interval_unit", "minutes")
    page.select_option("#f-timezone", "Europe/Berlin")
    page.fill("#f-window_start", "08:00")
    page.fill("#f-window_end", "18:00")
    for day in ("sat", "sun"):
        page.uncheck(f"input[name='day.{day}']")
    page.click("button:has-text('Show next runs')")
    expect(page.locator("#schedule-sentence")).to_have_text(
        "every 15 minutes, 08:00\u201318:00 Europe/Berlin, Monday to Friday"
    )
    expect(page.locator("#next-runs li")).to_have_count(5)
    first = page.locator("#next-runs li time").first
    assert (first.get_attribute("title") or "").endswith(" UTC")  # UTC on hover
    expect(page.locator("input[name='day.sat']")).not_to_be_checked()  # kept as typed
    tab.shot("schedule-in-words")
    page.click("form.form button.primary")
    expect(page.locator(".flash")).to_contain_text("Schedule office saved")
    expect(page.locator("#content, main")).to_contain_text("Monday to Friday")
    assert not tab.problems
