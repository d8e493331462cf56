"""Browser fixtures: Debian's chromium driven headless by Playwright, against a console served
by uvicorn in a thread with a worker executing queued runs, on SQLite.

No browser is ever downloaded: without chromium these tests skip with the reason (and fail
when CI=true, where `.ci/run` installs Debian's chromium)."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tenantsync.console import create_app
from tenantsync.engine.registry import Registry
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.worker.runner import Worker
from tests.conftest import IN_CI
from tests.support.console import (
    EMAILS,
    PASSWORD,
    Seeded,
    console_registry,
    seed_accounts,
    seed_directory,
    serve_in_thread,
)

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"
CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium_executable() -> str | None:
    """Debian's chromium (or TENANTSYNC_CHROMIUM), never a downloaded one."""
    configured = os.environ.get("TENANTSYNC_CHROMIUM")
    for candidate in (configured, *CANDIDATES, shutil.which("chromium")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


# Module scope: the sync API keeps an event loop running in this thread while it is
# open, which would break every later test that calls asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_executable()
    if executable is None:
        reason = "no chromium found (apt-get install chromium, or set TENANTSYNC_CHROMIUM)"
        if IN_CI:
            pytest.fail(f"CI=true but browser tests cannot run: {reason}")
        print(f"browser tests skipped: {reason}")
        pytest.skip(f"browser tests skipped: {reason}")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'console.db'}"


@dataclass(frozen=True)
class Console:
    """The console under test: its URL and the seeded directory."""

    url: str
    seeded: Seeded


@pytest.fixture
def registry() -> Registry:
    """The definition types of the console under test (a module may override this)."""
    return console_registry()


@pytest.fixture
def console_worker() -> bool:
    """Whether a worker runs beside the console under test, taking the runs it queues (a
    module whose test runs its own worker overrides this: two would race for a run)."""
    return True


@pytest.fixture
def console(
    settings: Settings, db: Database, registry: Registry, console_worker: bool
) -> Iterator[Console]:
    seed_accounts(db)
    seeded = seed_directory(db)
    app = create_app(settings, db, registry=registry)
    worker = Worker(db, settings, registry, name="browser-test-worker")
    thread = threading.Thread(target=worker.run_forever, name="worker-under-test", daemon=True)
    if console_worker:
        thread.start()
    try:
        with serve_in_thread(app) as url:
            yield Console(url, seeded)
    finally:
        worker.stop_event.set()
        if console_worker:
            thread.join(timeout=10)


class Visit:
    """One browser tab on the console, saving numbered screenshots as it goes."""

    def __init__(self, page: Page, base: str, folder: Path) -> None:
        self.page = page
        self.base = base
        self.folder = folder
        self.shots: list[Path] = []
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(str(exc)))

    def _console(self, message: object) -> None:
        # Failed loads (a 422 form answer, no favicon) are expected; script errors and
        # anything the content security policy refused are not.
        text = str(getattr(message, "text", message))
        if getattr(message, "type", "") == "error" and "Failed to load resource" not in text:
            self.problems.append(text)

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)

    def shot(self, name: str) -> Path:
        """Save a full-page screenshot named after the step."""
        self.folder.mkdir(parents=True, exist_ok=True)
        taken = len(list(self.folder.glob("*.png")))  # numbered across the test's tabs
        path = self.folder / f"{taken + 1:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        return path

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        self.go("/signin")
        self.page.fill("input[name=email]", email)
        self.page.fill("input[name=password]", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(self.base + "/")


@pytest.fixture
def visit(browser: Browser, console: Console, request: pytest.FixtureRequest) -> Iterator[object]:
    """Open tabs (each with its own cookies) named after the test; screenshots go to
    test-output/browser/<test>/."""
    contexts = []
    folder = OUTPUT / request.node.name

    def open_tab(role_email: str | None = None) -> Visit:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        context.set_default_timeout(10_000)
        tab = Visit(context.new_page(), console.url, folder)
        if role_email is not None:
            tab.sign_in(role_email)
        return tab

    if folder.exists():
        shutil.rmtree(folder)
    yield open_tab
    for context in contexts:
        context.close()


__all__ = ["EMAILS", "Console", "Visit"]
