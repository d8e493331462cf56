"""The sandbox's calendars behave like Outlook's: 10 events a page by default, bare
occurrences in delta rounds, @removed for a change outside the window, no signal for a
cancelled occurrence, only the last few sync states kept, 429 MailboxConcurrency beyond 4
requests per mailbox (inside $batch too), series masters by id with their recurrence, and
403 for a mailbox an application access policy closes."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tenantsync.sandbox import (
    SandboxOptions,
    SandboxTenant,
    asgi_transport,
    create_app,
    generate_tenant,
)
from tenantsync.sandbox.admin_routes import apply_change
from tenantsync.sandbox.recurrence import occurrence_dates
from tests.integration.sandbox.conftest import bearer
from tests.integration.sandbox.test_changes_delta import delta_round

pytestmark = pytest.mark.anyio


@pytest.fixture
def tenant() -> SandboxTenant:
    return generate_tenant(30, seed=41)


@pytest.fixture
async def http(tenant: SandboxTenant) -> Any:
    app = create_app(tenant, latency=0)
    async with httpx.AsyncClient(transport=asgi_transport(app), base_url="https://sandbox") as c:
        c.headers.update(await bearer(c, tenant))
        yield c


def window(tenant: SandboxTenant) -> str:
    return (
        f"startDateTime={tenant.calendar_start:%Y-%m-%dT%H:%M:%SZ}"
        f"&endDateTime={tenant.calendar_end:%Y-%m-%dT%H:%M:%SZ}"
    )


def person_with_series(tenant: SandboxTenant) -> tuple[str, str]:
    for user in tenant.users.values():
        if user.mailbox != "user":
            continue
        for event in tenant.calendar(user.id).values():
            rec = event.recurrence
            if rec and len(occurrence_dates(rec, tenant.calendar_end.date())) > 8:
                return user.id, event.id
    raise AssertionError("no series")


async def test_delta_rounds_page_by_ten_and_carry_bare_occurrences(
    http: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    owner, series = person_with_series(tenant)
    first = await http.get(f"/v1.0/users/{owner}/calendarView/delta?{window(tenant)}")
    assert len(first.json()["value"]) == 10 and "@odata.nextLink" in first.json()
    items, link = await delta_round(
        http, f"/v1.0/users/{owner}/calendarView/delta?{window(tenant)}"
    )
    occurrences = [i for i in items if i["type"] == "occurrence"]
    assert occurrences
    assert set(occurrences[0]) <= {
        "@odata.type",
        "@odata.etag",
        "id",
        "seriesMasterId",
        "type",
        "start",
        "end",
    }
    master = await http.get(f"/v1.0/users/{owner}/events/{series}")
    body = master.json()
    assert body["type"] == "seriesMaster" and body["recurrence"]["pattern"]["type"]
    assert (
        body["recurrence"]["range"]["endDate"] == "0001-01-01"
        or body["recurrence"]["range"]["type"] != "noEnd"
    )

    # A cancelled occurrence is never signalled; a change outside the window is a removal.
    event = tenant.calendar(owner)[series]
    assert event.recurrence is not None
    day = occurrence_dates(event.recurrence, tenant.calendar_end.date())[-2]
    apply_change(
        tenant,
        "cancel_occurrence",
        {"mailbox_id": owner, "event_id": series, "occurrence": day.isoformat()},
    )
    far = tenant.calendar_end + timedelta(days=100)
    outside = apply_change(
        tenant,
        "add_event",
        {
            "mailbox_id": owner,
            "subject": "Far away",
            "start": far.isoformat(),
            "end": (far + timedelta(hours=1)).isoformat(),
        },
    )
    second, link = await delta_round(http, link)
    assert second == [
        {
            "@odata.type": "#microsoft.graph.event",
            "id": outside["id"],
            "@removed": {"reason": "deleted"},
        }
    ]


async def test_only_the_last_sync_states_are_kept(
    http: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    owner, _ = person_with_series(tenant)
    _, old = await delta_round(http, f"/v1.0/users/{owner}/calendarView/delta?{window(tenant)}")
    again, _ = await delta_round(http, old)  # asking one link again evicts nothing
    assert (await http.get(old)).status_code == 200
    apply_change(tenant, "evict_calendar_delta", {"mailbox_id": owner})
    gone = await http.get(old)
    assert gone.status_code == 410
    assert gone.json()["error"]["code"] == "SyncStateNotFound"
    assert "generation=" in gone.json()["error"]["message"]
    assert again == []


async def test_more_than_four_requests_of_one_mailbox_are_refused(tenant: SandboxTenant) -> None:
    owner, series = person_with_series(tenant)
    app = create_app(
        tenant, latency={"graph.calendar": 0.2}, options=SandboxOptions(outlook_concurrency=4)
    )
    async with httpx.AsyncClient(transport=asgi_transport(app), base_url="https://sandbox") as c:
        c.headers.update(await bearer(c, tenant))
        url = f"/v1.0/users/{owner}/calendarView?{window(tenant)}"
        answers = await asyncio.gather(*(c.get(url) for _ in range(6)))
        statuses = sorted(a.status_code for a in answers)
        assert statuses.count(200) == 4 and statuses.count(429) == 2
        refused = next(a for a in answers if a.status_code == 429)
        assert refused.json()["error"]["code"] == "ApplicationThrottled"
        assert "MailboxConcurrency" in refused.json()["error"]["message"]
        assert refused.headers["retry-after"]
        batch = {
            "requests": [
                {"id": str(n), "method": "GET", "url": f"/users/{owner}/events/{series}"}
                for n in range(6)
            ]
        }
        answer = (await c.post("/v1.0/$batch", json=batch)).json()["responses"]
        assert sorted(r["status"] for r in answer) == [200] * 4 + [429] * 2


async def test_a_mailbox_closed_by_an_access_policy_answers_403(
    http: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    owner, _ = person_with_series(tenant)
    apply_change(tenant, "restrict_mailbox", {"mailbox_id": owner})
    answer = await http.get(f"/v1.0/users/{owner}/calendarView?{window(tenant)}")
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "ErrorAccessDenied"
