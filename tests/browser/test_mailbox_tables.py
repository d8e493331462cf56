"""An administrator works through an organization of 100,000 mailboxes in chromium: sorts
the list by a column both ways, filters it, pages it with a page size and a jump, finds a
person by an accented name from the header, exports the filtered set as CSV, restores
removed mailboxes in bulk, and the list and the mailbox page fit a phone's width.

The store is written once for the module, straight into SQLite (no 100,000-mailbox sync)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tenantsync.console import create_app
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Role
from tests.browser.conftest import OUTPUT
from tests.support.big_directory import BigOrg, big_org
from tests.support.console import EMAILS, PASSWORD, console_registry, seed_accounts, serve_in_thread

pytestmark = pytest.mark.browser
SIZE = 100_000
DASH = "\N{EN DASH}"  # as the pager writes "1 to 50 of N"


@pytest.fixture(scope="module")
def big_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, BigOrg]]:
    folder = tmp_path_factory.mktemp("big-console")
    settings = Settings(data_dir=folder, database_url=f"sqlite:///{folder / 'console.db'}")
    db = Database.from_settings(settings)
    db.upgrade()
    seed_accounts(db)
    big = big_org(db, "fabrikam", SIZE)
    app = create_app(settings, db, registry=console_registry())
    with serve_in_thread(app) as url:
        yield url, big
    db.dispose()


def signed_in(browser: Browser, url: str, role: Role, **context: Any) -> Page:
    """A new tab (its own cookies) signed in as ``role``."""
    tab = browser.new_context(**context)
    tab.set_default_timeout(15_000)
    page = tab.new_page()
    page.goto(url + "/signin")
    page.fill("input[name=email]", EMAILS[role])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")
    return page


@pytest.fixture
def tab(browser: Browser, big_console: tuple[str, BigOrg]) -> Iterator[Page]:
    desktop = {"width": 1280, "height": 900}
    page = signed_in(browser, big_console[0], Role.ADMIN, viewport=desktop, accept_downloads=True)
    yield page
    page.context.close()


def shot(page: Page, name: str) -> None:
    folder = OUTPUT / "mailbox-tables"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def column(page: Page, index: int) -> list[str]:
    cells = page.locator(f"#mailboxes tbody tr td:nth-child({index})")
    return [t.strip() for t in cells.all_inner_texts()]


def test_the_list_of_100000_sorts_filters_and_pages(
    tab: Page, big_console: tuple[str, BigOrg]
) -> None:
    url, big = big_console
    live = SIZE - big.removed
    tab.goto(f"{url}/organizations/{big.org_id}/mailboxes")
    expect(tab.locator("#range")).to_have_text(f"1{DASH}50 of {live:,}")
    tab.click("#mailboxes th a:has-text('Name')")
    expect(tab.locator("th[aria-sort=ascending]")).to_contain_text("Name")
    ascending = column(tab, 2)
    assert ascending == sorted(ascending) and len(ascending) == 50
    tab.click("#mailboxes th a:has-text('Name')")
    expect(tab.locator("th[aria-sort=descending]")).to_contain_text("Name")
    descending = column(tab, 2)
    assert descending == sorted(descending, reverse=True) and descending[0] > ascending[-1]

    tab.select_option("select[name=kind]", "shared")
    tab.click("button:has-text('Filter')")
    assert "kind=shared" in tab.url and "sort=-name" in tab.url  # the sort stays
    shared = re.fullmatch(rf"1{DASH}50 of ([\d,]+)", tab.locator("#range").inner_text())
    assert shared is not None and 0 < int(shared.group(1).replace(",", "")) < live
    assert set(column(tab, 3)) == {"shared"}

    tab.select_option("select[name=per_page]", "100")
    tab.click("button:has-text('Show')")
    expect(tab.locator("#range")).to_contain_text(f"1{DASH}100 of")
    tab.fill("input[name=page]", "3")
    tab.click("button:has-text('Go')")
    expect(tab.locator("#range")).to_contain_text(f"201{DASH}300 of")
    assert all(p in tab.url for p in ("kind=shared", "per_page=100", "page=3", "sort=-name"))
    shot(tab, "sorted-filtered-page-3")


def test_a_person_is_found_by_an_accented_name_from_the_header(
    tab: Page, big_console: tuple[str, BigOrg]
) -> None:
    url, big = big_console
    tab.goto(f"{url}/organizations/{big.org_id}/mailboxes")
    tab.fill("header input[name=q]", "jurgen MÜLLER")
    tab.press("header input[name=q]", "Enter")
    expect(tab.locator("h1")).to_have_text("Search")
    people = tab.locator("#found-people + ul li")
    expect(people.first).to_contain_text("Jürgen Müller")
    expect(people.first).to_contain_text("fabrikam")
    people.first.locator("a").first.click()
    expect(tab.locator("h1")).to_have_text("Jürgen Müller")
    expect(tab.locator("#billable")).not_to_be_empty()
    shot(tab, "found-by-accented-name")


def test_the_filtered_list_exports_as_csv(
    tab: Page, big_console: tuple[str, BigOrg], tmp_path: Path
) -> None:
    url, big = big_console
    tab.goto(f"{url}/organizations/{big.org_id}/mailboxes?billable=yes&sort=-address")
    total = int(tab.locator("#range").inner_text().rpartition(" of ")[2].replace(",", ""))
    with tab.expect_download() as download:
        tab.click("#export")
    saved = tmp_path / "export.csv"
    download.value.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert rows[0][:4] == ["primary_address", "display_name", "kind", "billable"]
    assert len(rows) - 1 == total > 50_000
    assert {r[3] for r in rows[1:]} == {"yes"}
    addresses = [r[0] for r in rows[1:]]
    assert addresses == sorted(addresses, reverse=True)


def test_removed_mailboxes_are_restored_with_one_tick(
    tab: Page, big_console: tuple[str, BigOrg]
) -> None:
    url, big = big_console
    tab.goto(f"{url}/organizations/{big.org_id}/mailboxes?removed=true&per_page=25")
    expect(tab.locator("#range")).to_have_text(f"1{DASH}25 of {big.removed:,}")
    tab.check("#pick-all")  # the page's script ticks every row
    expect(tab.locator("input[name=ids]:checked")).to_have_count(25)
    tab.click("button:has-text('Restore selected')")
    expect(tab.locator(".flash")).to_have_text("25 mailboxes restored")
    expect(tab.locator("#range")).to_have_text(f"1{DASH}25 of {big.removed - 25:,}")
    assert "removed=true" in tab.url and "per_page=25" in tab.url


def test_the_list_and_a_mailbox_fit_a_phone(
    browser: Browser, big_console: tuple[str, BigOrg]
) -> None:
    url, big = big_console
    phone = {"width": 375, "height": 740}
    page = signed_in(browser, url, Role.SUPER_ADMIN, viewport=phone, is_mobile=True)
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    for path in (
        f"/organizations/{big.org_id}/mailboxes",
        f"/organizations/{big.org_id}/mailboxes?removed=true",
        "/search?q=müller",
    ):
        page.goto(url + path)
        assert page.evaluate(overflow) <= 0, path
    page.goto(f"{url}/organizations/{big.org_id}/mailboxes")
    page.locator("#mailboxes tbody a").first.click()
    assert page.evaluate(overflow) <= 0, page.url
    shot(page, "phone-mailbox")
    page.context.close()
