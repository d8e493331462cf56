"""The forms an administrator fills on the first day: every refusal is shown at its field in
plain words, and the task form's scope choices sit next to their labels."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tenantsync.engine import housekeeping, user_sync
from tenantsync.engine.registry import Registry
from tenantsync.store.models import Role
from tests.browser.conftest import Console, Visit
from tests.support.console import EMAILS, PROBE

pytestmark = pytest.mark.browser


@pytest.fixture
def registry() -> Registry:
    """The console's types and user sync, whose options have domains and rules."""
    return Registry([housekeeping.DEFINITION_TYPE, PROBE, user_sync.DEFINITION_TYPE])


def test_the_schedule_form_shows_why_its_allowed_window_is_refused(
    visit: Callable[..., Visit], console: Console
) -> None:
    tab = visit(EMAILS[Role.ADMIN])
    page = tab.page
    tab.go(f"/organizations/{console.seeded.org_id}/schedules/new")
    page.fill("#f-name", "nights")
    page.fill("#f-interval", "1")
    page.select_option("#f-interval_unit", "hours")
    page.fill("#f-window_start", "22:00")
    page.click("form.form button[type=submit]")
    expect(page.locator("#err-window")).to_have_text(
        "Allowed window: give both start and end, or neither"
    )
    tab.shot("window-error")
    page.fill("#f-window_end", "05:00")
    page.click("form.form button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Schedule nights saved")
    assert not tab.problems


def test_each_scope_choice_sits_on_the_line_of_its_label(
    visit: Callable[..., Visit], console: Console
) -> None:
    tab = visit(EMAILS[Role.ADMIN])
    page = tab.page
    tab.go(f"/organizations/{console.seeded.org_id}/tasks/new")
    tab.shot("scope-choices")
    labels = page.locator("label.choice")
    assert labels.count() == 4
    for i in range(labels.count()):
        label = labels.nth(i)
        radio = label.locator("input[type=radio]").bounding_box()
        box = label.bounding_box()
        assert radio is not None and box is not None
        assert radio["width"] < 30, f"the radio of {label.inner_text()!r} is stretched"
        # One line: the radio and its words share the label's single line of text.
        assert box["height"] < 2 * radio["height"] + 8, label.inner_text()
        assert radio["x"] - box["x"] < 10  # at the start of its label
    assert not tab.problems


def test_a_task_scope_left_empty_says_what_to_give(
    visit: Callable[..., Visit], console: Console
) -> None:
    tab = visit(EMAILS[Role.ADMIN])
    page = tab.page
    tab.go(f"/organizations/{console.seeded.org_id}/tasks/new")
    page.fill("#f-name", "helpdesk only")
    page.check("input[name=scope_kind][value=group]")
    page.click("form.form button[type=submit]")
    expect(page.locator("#err-scope_value")).to_have_text("pick one of the synced groups")
    tab.shot("scope-error")
    assert "of the group of the group" not in page.content()


def test_definition_errors_are_plain_words_at_their_field(
    visit: Callable[..., Visit], console: Console
) -> None:
    tab = visit(EMAILS[Role.ADMIN])
    page = tab.page
    tab.go(f"/organizations/{console.seeded.org_id}/definitions/new?type=user_sync")
    page.fill("#f-name", "users")
    page.click("#add-rule")
    page.select_option("#rule-0-field", "department")
    page.select_option("#rule-0-operator", "member-of")
    page.fill("#rule-0-value", "Sales")
    page.select_option("#rule-0-destination", "exclude")
    page.fill("#f-max_removal_percent", "250")
    page.click("form.form button[type=submit]")
    expect(page.locator("#rule-0-error")).to_have_text(
        "rule 1: operator member-of needs field memberOf"
    )
    expect(page.locator("#err-max_removal_percent")).to_have_text(
        "must be less than or equal to 100"
    )
    tab.shot("definition-errors")
    shown = page.locator("form.form").inner_text()
    assert "opt." not in shown and "options." not in shown
    assert "Input should" not in shown and "Value error" not in shown
    page.click("#rule-0-remove")
    page.fill("#f-max_removal_percent", "10")
    # Domains are ticked from the organization's own (a file or the API naming another is
    # refused at its line or field).
    page.check("input[name='domain.contoso.example']")
    page.click("form.form button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Definition users saved")
    assert not tab.problems


def test_an_on_premises_connection_form_shows_the_shell_and_kerberos_fields_when_chosen(
    visit: Callable[..., Visit], console: Console
) -> None:
    tab = visit(EMAILS[Role.ADMIN])
    page = tab.page
    tab.go(f"/organizations/{console.seeded.org_id}/connections/new?kind=exchange_onprem")
    shell = ["#f-ems_url", "#f-ems_auth", "#f-ems_user", "#f-ems_password"]
    kerberos = ["#f-keytab", "#f-kerberos_host"]
    # The defaults read through the DC with a simple bind: the rest is out of the way.
    expect(page.locator("#f-server")).to_be_visible()
    for selector in [*shell, *kerberos]:
        expect(page.locator(selector)).to_be_hidden()
    page.fill("#f-permission_path", "ems")
    for selector in shell:
        expect(page.locator(selector)).to_be_visible()
    page.fill("#f-auth", "kerberos")
    for selector in kerberos:
        expect(page.locator(selector)).to_be_visible()
    tab.shot("onprem-shell-and-kerberos")
    # What was typed into a field then hidden again is still sent: the rules hold on save.
    page.fill("#f-name", "corp-dc")
    page.fill("#f-server", "dc1.corp.example")
    page.fill("#f-ems_url", "http://ex01.corp.example/PowerShell")
    page.fill("#f-ems_auth", "basic")
    page.fill("#f-permission_path", "ad")
    expect(page.locator("#f-ems_url")).to_be_hidden()
    page.click("form.form button[type=submit]")
    # A refused field is shown, with its error, whatever the field it depends on says.
    expect(page.locator("#err-ems_url")).to_have_text("Basic sign-in is sent only over https")
    expect(page.locator("#f-ems_url")).to_be_visible()
