"""A mailbox's replicated calendar in the console and the API: events expanded and private
items masked for console accounts (super administrators only, like all delegate data),
the replication state for every role, and per-viewer secret feeds that answer without a
session, mask private items unless the viewer may see them, and stop when revoked."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import icalendar
import pytest

from tenantsync.sandbox import generate_tenant
from tenantsync.sandbox.admin_routes import apply_change
from tenantsync.sandbox.entities import CAN_VIEW_PRIVATE_ITEMS, DELEGATE
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Role
from tests.integration.calendar.harness import CalendarHarness, people
from tests.integration.console.conftest import Client

SECRET_SUBJECT = "Doctor's appointment"


@pytest.fixture
def harness(db: Database, settings: Settings, app: Any) -> CalendarHarness:
    """The tenant's mailboxes in the console's store; a boss with a private item, an
    assistant who may see private items, a colleague who may not, replicated."""
    tenant = generate_tenant(24, seed=11)
    harness = CalendarHarness(db, settings, tenant).setup()
    boss, assistant, colleague, stranger = people(tenant)[:4]
    when = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(9), UTC)
    tenant.add_event(
        boss,
        SECRET_SUBJECT,
        when,
        when + timedelta(hours=1),
        sensitivity="private",
        location="Clinic",
    )
    tenant.add_event(boss, "Team lunch", when + timedelta(hours=3), when + timedelta(hours=4))
    apply_change(
        tenant,
        "set_calendar_permission",
        {
            "mailbox_id": boss,
            "trustee": assistant,
            "role": "Editor",
            "flags": DELEGATE | CAN_VIEW_PRIVATE_ITEMS,
        },
    )
    apply_change(
        tenant,
        "set_calendar_permission",
        {"mailbox_id": boss, "trustee": colleague, "role": "Reviewer", "flags": 0},
    )
    run = harness.run(harness.task("calendars"))
    assert run.status in ("succeeded", "warning"), run.error
    harness.people = (boss, assistant, colleague, stranger)  # type: ignore[attr-defined]
    return harness


def _events(client: Client, mailbox_id: int) -> list[dict[str, Any]]:
    start = datetime.now(UTC).date()
    response = client.get(
        f"/api/v1/mailboxes/{mailbox_id}/calendar/events",
        params={
            "start": f"{start}T00:00:00Z",
            "end": f"{start + timedelta(days=7)}T00:00:00Z",
            "tz": "Europe/Berlin",
        },
    )
    assert response.status_code == 200, response.text
    return list(response.json())


def test_the_api_shows_events_masked_to_super_administrators_only(
    harness: CalendarHarness, api: Any
) -> None:
    boss = harness.people[0]  # type: ignore[attr-defined]
    mid = harness.mailbox_id(boss)
    events = _events(api(Role.SUPER_ADMIN), mid)
    subjects = {e["subject"] for e in events}
    assert "Team lunch" in subjects and SECRET_SUBJECT not in subjects
    private = [e for e in events if e["masked"]]
    assert private and all(e["location"] == "" for e in private)
    assert all(e["start"].endswith("+01:00") or e["all_day"] for e in events)
    for role in (Role.ADMIN, Role.READ_ONLY):
        window = "start=2026-01-01T00:00:00Z&end=2026-01-02T00:00:00Z"
        url = f"/api/v1/mailboxes/{mid}/calendar/events?{window}"
        assert api(role).get(url).status_code == 403
    state = api(Role.READ_ONLY).get(f"/api/v1/mailboxes/{mid}/calendar/state")
    assert state.status_code == 200 and state.json()[0]["state"] == "healthy"


def test_each_viewer_gets_a_revocable_feed_masked_as_they_may_see(
    harness: CalendarHarness, api: Any, make_client: Any
) -> None:
    boss, assistant, colleague, stranger = harness.people  # type: ignore[attr-defined]
    mid = harness.mailbox_id(boss)
    root = api(Role.SUPER_ADMIN)
    anonymous: Client = make_client()

    def issue(user_id: str) -> Any:
        address = harness.address(user_id)
        return root.post(f"/api/v1/mailboxes/{mid}/calendar/feeds", json={"viewer": address})

    def subjects(url: str) -> set[str]:
        response = anonymous.get(url.replace("http://console.test", ""))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/calendar")
        parsed = icalendar.Calendar.from_ical(response.content)
        return {str(e["summary"]) for e in parsed.walk("VEVENT")}

    urls = {}
    for who in (boss, assistant, colleague):
        issued = issue(who)
        assert issued.status_code == 201, issued.text
        urls[who] = issued.json()["url"]
    assert SECRET_SUBJECT in subjects(urls[boss])
    assert SECRET_SUBJECT in subjects(urls[assistant])
    assert SECRET_SUBJECT not in subjects(urls[colleague])
    assert "Private appointment" in subjects(urls[colleague])
    assert issue(stranger).status_code == 422
    listed = root.get(f"/api/v1/mailboxes/{mid}/calendar/feeds").json()
    assert len(listed) == 3 and all("secret" not in f and "url" not in f for f in listed)
    assert (
        api(Role.ADMIN)
        .post(f"/api/v1/mailboxes/{mid}/calendar/feeds", json={"viewer": "x@y.z"})
        .status_code
        == 403
    )

    colleague_feed = next(f for f in listed if f["viewer"] == harness.address(colleague))
    assert root.delete(f"/api/v1/calendar-feeds/{colleague_feed['id']}").status_code == 200
    assert anonymous.get(urls[colleague].replace("http://console.test", "")).status_code == 404
    again = issue(boss)
    assert anonymous.get(urls[boss].replace("http://console.test", "")).status_code == 404
    assert SECRET_SUBJECT in subjects(again.json()["url"])


def test_the_calendar_page_is_for_super_administrators_and_masks_private_items(
    harness: CalendarHarness, make_client: Any
) -> None:
    boss = harness.people[0]  # type: ignore[attr-defined]
    mid = harness.mailbox_id(boss)
    root: Client = make_client(Role.SUPER_ADMIN)
    start = datetime.now(UTC).date()
    for view in ("week", "agenda"):
        page = root.page(f"/mailboxes/{mid}/calendar?view={view}&start={start}&tz=Europe/Berlin")
        assert page.status_code == 200
        assert "Team lunch" in page.text and SECRET_SUBJECT not in page.text
        assert "Private appointment" in page.text
    issued = root.submit(f"/mailboxes/{mid}/calendar/feeds", {"viewer": str(mid)})
    assert issued.status_code == 303
    assert "/calendar-feeds/" in root.page(f"/mailboxes/{mid}/calendar").text
    admin: Client = make_client(Role.ADMIN)
    assert admin.get(f"/mailboxes/{mid}/calendar").status_code == 403
    mailbox_page = admin.page(f"/mailboxes/{mid}")
    assert "healthy" in mailbox_page.text and SECRET_SUBJECT not in mailbox_page.text


def test_the_task_page_lists_mailboxes_needing_attention(
    harness: CalendarHarness, make_client: Any
) -> None:
    boss = harness.people[0]  # type: ignore[attr-defined]
    apply_change(harness.tenant, "restrict_mailbox", {"mailbox_id": boss})
    task = harness.task("reconcile", full_reconciliation_hours=0)
    assert harness.run(task).status == "warning"
    page = make_client(Role.READ_ONLY).page(f"/tasks/{task}")
    assert page.status_code == 200
    assert "Mailboxes needing attention" in page.text
    assert harness.address(boss) in page.text and "may not read this mailbox" in page.text
