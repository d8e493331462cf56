"""Trend charts in a browser: the console's own SVG images load under its content security
policy (no script, nothing from elsewhere), beside a table of the same numbers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tenantsync.store.database import Database
from tenantsync.store.models import Role, Run, RunStatus, Trigger
from tenantsync.store.trends import record_organization_counts
from tenantsync.timeutil import utcnow
from tests.browser.conftest import Console, Visit
from tests.support.console import EMAILS

pytestmark = pytest.mark.browser


def test_the_charts_load_beside_their_numbers(
    visit: Callable[..., Visit], console: Console, db: Database
) -> None:
    seeded = console.seeded
    now = utcnow()
    with db.session() as session:
        for hours, seconds in ((3, 12.0), (2, 30.5), (1, 7.25)):
            started = now - timedelta(hours=hours)
            session.add(
                Run(
                    task_id=seeded.task_id,
                    trigger=Trigger.SCHEDULE,
                    status=RunStatus.SUCCEEDED,
                    started_at=started,
                    finished_at=started + timedelta(seconds=seconds),
                )
            )
            record_organization_counts(session, seeded.org_id, None, started)
    tab = visit(EMAILS[Role.READ_ONLY])
    page = tab.page
    tab.go(f"/tasks/{seeded.task_id}")
    page.click("#task-trends")
    for chart in ("#chart-duration", "#chart-changes"):
        expect(page.locator(chart)).to_be_visible()
        loaded(page, chart)
    durations = page.locator("#trend-table tbody tr td:nth-child(4)").all_inner_texts()
    # Newest first: the seeded failed run (a minute, five minutes ago), then these three.
    assert durations == ["60.0", "7.2", "30.5", "12.0"]
    tab.shot("task-trends")
    tab.go(f"/organizations/{seeded.org_id}")
    page.click("a:has-text('Mailboxes over time')")
    loaded(page, "#chart-mailboxes")
    # The seeded organization: three live mailboxes (user, shared, room), one of them billable.
    rows = page.locator("#trend-table tbody tr")
    expect(rows).to_have_count(3)
    assert rows.nth(0).locator("td").all_inner_texts()[1:3] == ["3", "1"]
    tab.shot("organization-trends")
    assert not tab.problems


def loaded(page: Any, selector: str) -> None:
    """Wait until the chart image at ``selector`` has loaded and drawn (it is made on
    request, so it may arrive after the page)."""
    page.wait_for_function(
        "s => { const i = document.querySelector(s); "
        "return !!i && i.complete && i.naturalWidth > 0 }",
        arg=selector,
    )
