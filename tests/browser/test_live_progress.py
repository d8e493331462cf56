"""A user sync watched while it works: its page and the dashboard show the stage and a count
that moves, polled by the page's script, without reloading (focus and scroll stay)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tenantsync.console import create_app
from tenantsync.engine.registry import default_registry
from tenantsync.sandbox import SandboxOptions, generate_tenant
from tenantsync.sandbox import create_app as sandbox_app
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.directory import find_task
from tenantsync.store.models import Role, Trigger
from tenantsync.worker import queue
from tests.browser.conftest import Console, Visit
from tests.integration.user_sync.harness import UserSync
from tests.support.console import EMAILS, seed_accounts, seed_directory, serve_in_thread

pytestmark = pytest.mark.browser
# Users come five to a page, each page a third of a second late: a read of ten seconds or so,
# long enough to see its count move even on a busy machine.
SLOW_PAGES = SandboxOptions(graph_page_cap=5)
SLOW = "graph=0.35,exchange=0,token=0"


@pytest.fixture
def console(settings: Settings, db: Database, tmp_path: Path) -> Iterator[Console]:
    """The console, and a worker syncing users from a slowed sandbox tenant."""
    seed_accounts(db)
    seeded = seed_directory(db)
    tenant = generate_tenant(150, seed=5)
    sync = UserSync(
        db, settings, tenant, sandbox_app(tenant, latency=SLOW, options=SLOW_PAGES), tmp_path
    )
    worker = threading.Thread(target=sync.worker.run_forever, name="slow-worker", daemon=True)
    worker.start()
    try:
        with serve_in_thread(create_app(settings, db, registry=default_registry())) as url:
            yield Console(url, seeded)
    finally:
        sync.worker.stop_event.set()
        worker.join(timeout=20)


@pytest.mark.slow
def test_a_working_sync_shows_its_stage_and_a_moving_count(
    visit: Callable[..., Visit], console: Console, db: Database
) -> None:
    tab = visit(EMAILS[Role.READ_ONLY])
    page = tab.page
    with db.session() as session:
        run_id = queue.enqueue(session, find_task(session, "users"), Trigger.MANUAL).id
    tab.go(f"/runs/{run_id}")
    progress = page.locator(f'.run-summary [data-run-progress="{run_id}"]')
    expect(progress).to_contain_text("reading users: ", timeout=15_000)
    seen: list[str] = []

    def look() -> None:
        """Note the run page's progress line when it is a count not seen before."""
        text = progress.text_content() or ""
        if text.startswith("reading users: ") and text not in seen:
            seen.append(text)
            if len(seen) == 2:
                tab.shot("progress-moves")

    look()
    expect(page.locator("h1")).to_contain_text("running")
    page.evaluate("window.notReloaded = true")
    search = page.locator("input[name=address]")
    search.focus()
    search.type("ad")

    dashboard = visit(EMAILS[Role.READ_ONLY])
    dashboard.go("/")
    look()
    expect(dashboard.page.locator(".running-now")).to_contain_text(f"#{run_id} users")
    expect(dashboard.page.locator(".running-now .run-progress")).to_contain_text("users")
    dashboard.shot("dashboard-running")
    look()
    dashboard.go("/runs")
    expect(dashboard.page.locator(f'[data-run-progress="{run_id}"]')).to_contain_text("users")

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not page.locator(".run-ended").is_visible():
        look()
        page.wait_for_timeout(200)
    counts = {text.split(":")[1].split("·")[0].strip() for text in seen}
    assert len(counts) >= 2, seen  # the count moved while the page stayed
    assert any("a second" in text for text in seen), seen
    expect(page.locator(".run-ended")).to_be_visible(timeout=30_000)
    expect(page.locator("h1")).to_contain_text("succeeded")
    expect(search).to_be_focused()
    expect(search).to_have_value("ad")
    assert page.evaluate("window.notReloaded") is True
    page.get_by_role("link", name="The run ended: show its results").click()
    expect(page.locator(".run-summary .words")).to_contain_text("mailboxes added")
    assert not tab.problems, tab.problems
