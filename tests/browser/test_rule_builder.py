"""The rule builder in a browser: rows reordered with the keyboard alone and by dragging, a
live count of the mailboxes each rule routes, and the order saved as the rules' order."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from tenantsync.engine import housekeeping, user_sync
from tenantsync.engine.registry import Registry
from tenantsync.store.database import Database
from tenantsync.store.models import Definition, Mailbox, Role
from tests.browser.conftest import Console, Visit
from tests.support.console import EMAILS, PASSWORD, PROBE

pytestmark = pytest.mark.browser


@pytest.fixture
def registry() -> Registry:
    return Registry([housekeeping.DEFINITION_TYPE, PROBE, user_sync.DEFINITION_TYPE])


def departments(db: Database, console: Console) -> None:
    with db.session() as session:
        for mailbox_id, department in (
            (console.seeded.user_id, "Sales"),
            (console.seeded.shared_id, "Support"),
        ):
            mailbox = session.get(Mailbox, mailbox_id)
            assert mailbox is not None
            mailbox.attributes = {"department": department}


def test_a_keyboard_alone_reorders_the_rules_and_saves_the_order(
    visit: Callable[..., Visit], console: Console, db: Database
) -> None:
    departments(db, console)
    tab = visit(EMAILS[Role.ADMIN])
    page = tab.page
    tab.go(f"/organizations/{console.seeded.org_id}/definitions/new?type=user_sync")
    page.fill("#f-name", "routing")
    for n, value in enumerate(("Sales", "Support")):
        page.click("#add-rule")  # a plain post: the page comes back with one more row
        page.fill(f"#rule-{n}-value", value)
        page.select_option(f"#rule-{n}-destination", "new…")
        page.fill(f"#rule-{n}-new_group", value)
    expect(page.locator("#rule-0-count")).to_have_text("1 mailbox matches")
    page.fill("#rule-1-value", "S")
    page.select_option("#rule-1-operator", "starts-with")
    expect(page.locator("#rule-1-count")).to_have_text("1 mailbox matches")  # Sales is rule 1's
    page.select_option("#rule-0-field", "mail")
    expect(page.locator("#rule-1-count")).to_have_text("2 mailboxes match")  # live, no save
    page.select_option("#rule-0-field", "department")
    tab.shot("two-rules")

    # Keyboard only: from the second row's value, tab to its "Move up" and press Enter.
    page.focus("#rule-1-value")
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "rule-1-up":
            break
    assert page.evaluate("document.activeElement.id") == "rule-1-up"
    page.keyboard.press("Enter")
    expect(page.locator("#rule-0-value")).to_have_value("S")
    expect(page.locator("#rule-1-value")).to_have_value("Sales")
    assert page.evaluate("document.activeElement.id") == "rule-0-up"  # the focus moved along
    expect(page.locator("#rule-0-count")).to_have_text("2 mailboxes match")
    expect(page.locator("#rule-1-count")).to_have_text("0 mailboxes match")
    tab.shot("moved-up")
    page.focus("#f-name")
    page.keyboard.press("Enter")  # Enter in a field saves; it does not move a row
    expect(page.locator(".flash")).to_contain_text("Definition routing saved")
    with db.session() as session:
        saved = session.scalars(select(Definition).where(Definition.name == "routing")).one()
        assert [r["value"] for r in saved.options["rules"]] == ["S", "Sales"]
        saved_id = saved.id
    tab.go(f"/definitions/{saved_id}")  # counted by the page itself, as without a script
    expect(page.locator("#rule-0-count")).to_have_text("2 mailboxes match")
    assert not tab.problems


def test_rows_are_dragged_into_a_new_order(
    visit: Callable[..., Visit], console: Console, db: Database
) -> None:
    tab = visit(EMAILS[Role.ADMIN])
    page = tab.page
    tab.go(f"/organizations/{console.seeded.org_id}/definitions/new?type=user_sync")
    page.fill("#f-name", "dragged")
    for n, value in enumerate(("first", "second", "third")):
        page.click("#add-rule")
        page.fill(f"#rule-{n}-value", value)
        page.select_option(f"#rule-{n}-destination", "Main")
    page.locator("li.rule").nth(2).drag_to(
        page.locator("li.rule").nth(0), target_position={"x": 5, "y": 2}
    )
    expect(page.locator("#rule-0-value")).to_have_value("third")
    expect(page.locator("#rule-1-value")).to_have_value("first")
    page.click("form.form button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Definition dragged saved")
    with db.session() as session:
        saved = session.scalars(select(Definition).where(Definition.name == "dragged")).one()
        assert [r["value"] for r in saved.options["rules"]] == ["third", "first", "second"]
    assert not tab.problems


def test_without_javascript_the_keyboard_still_moves_a_rule_and_keeps_its_place(
    browser: Browser, console: Console, db: Database
) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(console.url + "/signin")
        page.fill("input[name=email]", EMAILS[Role.ADMIN])
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(
            f"{console.url}/organizations/{console.seeded.org_id}/definitions/new?type=user_sync"
        )
        page.fill("#f-name", "plain")
        for n, value in enumerate(("first", "second")):
            page.click("#add-rule")  # the form comes back from the server with one more row
            page.fill(f"#rule-{n}-value", value)
            page.select_option(f"#rule-{n}-destination", "Main")
        page.focus("#rule-1-down")
        page.keyboard.press("Shift+Tab")  # back to "Move up" of the second rule
        assert page.evaluate("document.activeElement.id") == "rule-1-up"
        page.keyboard.press("Enter")  # a plain post: the page comes back reordered
        expect(page.locator("#rule-0-value")).to_have_value("second")
        expect(page.locator("#rule-1-value")).to_have_value("first")
        assert page.evaluate("document.activeElement.id") == "rule-0-up"  # autofocus
        page.focus("#f-name")
        page.keyboard.press("Enter")
        expect(page.locator(".flash")).to_contain_text("Definition plain saved")
        with db.session() as session:
            saved = session.scalars(select(Definition).where(Definition.name == "plain")).one()
            assert [r["value"] for r in saved.options["rules"]] == ["second", "first"]
    finally:
        context.close()
