"""The run page in a browser: a 100,000-change run read a page at a time (summary in words,
tabs, filters, changes sorted by address, before → after), and a threshold stop confirmed by
typing its count with the keyboard, or rejected."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tenantsync.store.database import Database
from tenantsync.store.models import AuditEntry, Role, Run, RunStatus, Trigger
from tenantsync.worker import queue
from tests.browser.conftest import Console, Visit
from tests.support.console import EMAILS
from tests.support.factory import make_task
from tests.support.runs import store_big_run

pytestmark = pytest.mark.browser
DASH = "\N{EN DASH}"
# What in the page's content reaches past the screen's edge (a table may scroll in its box).
PAST_THE_EDGE = """Array.from(document.querySelectorAll('main *'))
  .filter(e => !e.closest('.table-scroll') && e.getBoundingClientRect().right > innerWidth + 1)
  .map(e => e.tagName + '.' + e.className)"""


@pytest.mark.slow
def test_a_run_of_100000_changes_opens_on_its_summary_and_pages_its_changes(
    visit: Callable[..., Visit], console: Console, db: Database
) -> None:
    began = time.monotonic()
    run_id = store_big_run(db, console.seeded.task_id)
    print(f"100,000 change records stored in {time.monotonic() - began:.1f} s")
    tab = visit(EMAILS[Role.READ_ONLY])
    page = tab.page

    began = time.monotonic()
    tab.go(f"/runs/{run_id}")
    print(f"run page of 100,000 changes loaded in {time.monotonic() - began:.2f} s")
    words = page.locator(".run-summary .words")
    expect(words).to_have_text(
        "9,997 mailboxes removed, 60,000 mailboxes added, 3 mailboxes moved to Sales, "
        "30,000 mailboxes updated."
    )
    expect(page.locator("nav.tabs a.current")).to_have_text("Changes")
    expect(page.locator(".range").first).to_have_text(f"1{DASH}50 of 100,000")
    expect(page.locator("table.changes tbody tr")).to_have_count(50)
    page.get_by_role("link", name="All 12 warnings").click()
    expect(page.locator("ul.messages").last.locator("li")).to_have_count(12)
    tab.shot("summary-and-warnings")

    tab.go(f"/runs/{run_id}")
    page.select_option("select[name=action]", "move")
    page.click("form.filters button[type=submit]")
    expect(page.locator(".range").first).to_have_text(f"1{DASH}3 of 3")
    expect(page.locator("table.changes")).to_contain_text("policy_group: Main → Sales")
    page.select_option("select[name=action]", "")
    page.fill("input[name=address]", "STAFF4242@")
    page.click("form.filters button[type=submit]")
    expect(page.locator(".range").first).to_have_text(f"1{DASH}1 of 1")
    expect(page.locator("table.changes")).to_contain_text(
        "display_name: Staff 4242 → Staff Member 4242"
    )
    tab.shot("filtered-by-address")

    tab.go(f"/runs/{run_id}?action=remove")
    address = page.locator("table.changes thead").get_by_role("link", name="Address", exact=True)
    address.click()
    expect(page.locator("table.changes th[aria-sort=ascending]")).to_have_text("Address ▲")
    ascending = page.locator("table.changes tbody td:nth-child(4)").all_inner_texts()
    assert ascending[:2] == ["leaver0@contoso.example", "leaver1000@contoso.example"]
    assert ascending == sorted(ascending) and len(ascending) == 50
    address.click()  # a second click reverses it, the filter kept
    expect(page.locator("table.changes th[aria-sort=descending]")).to_have_text("Address ▼")
    expect(page.locator(".range").first).to_have_text(f"1{DASH}50 of 9,997")
    descending = page.locator("table.changes tbody td:nth-child(4)").all_inner_texts()
    assert descending[0] == "leaver9@contoso.example" and descending == sorted(descending)[::-1]
    assert "action=remove" in page.url and "sort=-address" in page.url
    tab.shot("sorted-by-address")

    tab.go(f"/runs/{run_id}?per_page=200")
    page.get_by_role("link", name="last »").first.click()
    expect(page.locator(".range").first).to_have_text(f"99,801{DASH}100,000 of 100,000")
    expect(page.locator("table.changes")).to_contain_text("leaver9996@contoso.example")

    page.get_by_role("link", name="Plan (100,000)").click()
    expect(page.locator(".range").first).to_have_text(f"1{DASH}50 of 2,000")
    expect(page.get_by_text("The plan keeps its first entries of 100,000")).to_be_visible()
    tab.shot("plan-tab")

    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    tab.go(f"/runs/{run_id}?address=staff42")
    expect(page.locator(".run-summary .words")).to_be_visible()
    tab.shot("phone")
    outside = page.evaluate(PAST_THE_EDGE)
    assert not outside, f"wider than a phone: {outside}"
    assert not tab.problems, tab.problems


def test_a_threshold_stop_is_confirmed_by_typing_its_count_or_rejected(
    visit: Callable[..., Visit], console: Console, db: Database
) -> None:
    with db.session() as session:
        task = make_task(
            session,
            session.get_one(Run, console.seeded.failed_run_id).task.organization,
            "remover",
            type_="probe",
            options={"removals": 120, "threshold": 10},
        )
        first = queue.enqueue(session, task, Trigger.MANUAL, requested_by="test").id
    tab = visit(EMAILS[Role.SUPER_ADMIN])
    page = tab.page
    tab.go("/")
    expect(page.locator(".alert.awaiting")).to_contain_text(
        "1 run stopped at the deletion threshold waits for confirmation", timeout=20_000
    )
    tab.go(f"/runs/{first}")
    expect(page.locator(".impact")).to_contain_text("120 removals: 120 mailboxes")
    expect(page.locator("table.removals tbody tr")).to_have_count(50)
    tab.shot("stopped")

    dialog = page.locator("#confirm-dialog summary")
    dialog.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.locator("#confirm-count")).to_be_focused()
    page.keyboard.type("12")
    page.keyboard.press("Enter")
    expect(page.locator("body")).to_contain_text("type the number of removals, 120")
    page.go_back()
    page.locator("#confirm-dialog summary").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.type("120")
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).to_contain_text("Removals confirmed")
    expect(page.locator("h1")).to_contain_text("succeeded", timeout=20_000)
    tab.shot("confirmed")

    with db.session() as session:
        task = session.scalars(select(Run).where(Run.id == first)).one().task
        second = queue.enqueue(session, task, Trigger.MANUAL, requested_by="test").id
    tab.go(f"/runs/{second}")
    expect(page.locator("h1")).to_contain_text("awaiting_confirmation", timeout=20_000)
    tab.go(f"/runs/{second}")
    page.get_by_role("button", name="Reject: remove nothing").click()
    expect(page.locator(".flash")).to_contain_text("Removals rejected: nothing was removed")
    expect(page.locator("h1")).to_contain_text("cancelled")
    with db.session() as session:
        assert session.get_one(Run, second).status is RunStatus.CANCELLED
        rejected = session.scalars(select(AuditEntry).where(AuditEntry.action == "run.reject"))
        assert [e.detail for e in rejected] == [{"run": second}]
    assert not tab.problems, tab.problems
