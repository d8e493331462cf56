"""`tenantsync calendar …`: a mailbox's replicated events (private items masked), its
replication state, and its feeds issued, listed and revoked."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tenantsync.cli import app
from tests.integration.calendar.harness import CalendarHarness, people


@pytest.fixture
def replicated(harness: CalendarHarness, monkeypatch: pytest.MonkeyPatch) -> CalendarHarness:
    monkeypatch.setenv("TENANTSYNC_DATABASE_URL", harness.settings.effective_database_url)
    monkeypatch.setenv("TENANTSYNC_DATA_DIR", str(harness.settings.data_dir))
    assert harness.run(harness.task("calendars")).status == "succeeded"
    return harness


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_events_state_and_feeds_from_the_command_line(replicated: CalendarHarness) -> None:
    owner = replicated.address(people(replicated.tenant)[0])
    code, output = invoke("calendar", "events", owner, "--days", "60", "--json")
    assert code == 0, output
    events = json.loads(output)
    assert events and all("subject" in e for e in events)
    private = [e for e in events if e["private"]]
    assert all(e["subject"] == "Private appointment" for e in private)

    code, output = invoke("calendar", "state", owner)
    assert code == 0 and "healthy" in output

    code, output = invoke("calendar", "feed", "issue", owner, "--viewer", owner)
    assert code == 0, output
    assert "/calendar-feeds/" in output and output.strip().endswith(".ics")
    code, output = invoke("calendar", "feed", "list", owner, "--json")
    feeds = json.loads(output)
    assert len(feeds) == 1 and feeds[0]["revoked_at"] is None
    code, output = invoke("calendar", "feed", "revoke", str(feeds[0]["id"]))
    assert code == 0
    assert json.loads(invoke("calendar", "feed", "list", owner, "--json")[1])[0]["revoked_at"]
    unknown = CliRunner().invoke(app, ["calendar", "events", "nobody@nowhere.example"])
    assert type(unknown.exception).__name__ == "NotFound"
