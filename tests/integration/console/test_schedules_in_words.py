"""Schedules in an administrator's terms: an interval with a unit, weekdays and a window in
a picked time zone, said in a sentence with the next five runs; the scheduler keeps to it;
and each account sees the console's times in its own zone, UTC on hover."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from tenantsync.store.database import Database
from tenantsync.store.models import Role, Schedule
from tenantsync.worker.scheduler import timing_of
from tests.support.console import Seeded, seed_directory

OFFICE_HOURS = {
    "name": "office",
    "interval": "15",
    "interval_unit": "minutes",
    "timezone": "Europe/Berlin",
    "window_start": "08:00",
    "window_end": "18:00",
    **{f"day.{d}": "on" for d in ("mon", "tue", "wed", "thu", "fri")},
}


def test_a_schedule_is_said_in_words_with_its_next_five_runs(root: Any, db: Database) -> None:
    seeded: Seeded = seed_directory(db)
    new = f"/organizations/{seeded.org_id}/schedules/new"
    preview = root.submit(new, {**OFFICE_HOURS, "preview": "1"})
    assert preview.status_code == 200
    sentence = "every 15 minutes, 08:00\u201318:00 Europe/Berlin, Monday to Friday"
    assert sentence in preview.text
    with db.session() as session:
        assert session.scalars(select(Schedule).where(Schedule.name == "office")).all() == []

    assert root.submit(new, OFFICE_HOURS).status_code == 303
    with db.session() as session:
        stored = session.scalars(select(Schedule).where(Schedule.name == "office")).one()
        assert stored.interval_seconds == 900
        assert stored.weekdays == "mon,tue,wed,thu,fri"
        # Saturday noon in Berlin: the scheduler waits for Monday 08:00 local.
        saturday = datetime(2026, 7, 4, 10, tzinfo=UTC)
        assert timing_of(stored).first_due(saturday) == datetime(2026, 7, 6, 6, tzinfo=UTC)
        schedule_id = stored.id
    page = root.page(f"/schedules/{schedule_id}").text
    assert sentence in page
    runs = re.search(r'<ol id="next-runs">(.*?)</ol>', page, re.S)
    assert runs is not None and runs.group(1).count("<li>") == 5
    assert 'value="15"' in page and "<option selected>minutes</option>" in page


def test_clearing_every_weekday_is_refused_next_to_the_days(root: Any, db: Database) -> None:
    seeded: Seeded = seed_directory(db)
    days_off = {k: v for k, v in OFFICE_HOURS.items() if not k.startswith("day.")}
    new = f"/organizations/{seeded.org_id}/schedules/new"
    page = root.submit(new, {**days_off, "days_shown": "1"})
    assert page.status_code == 422
    assert 'id="err-weekdays">tick at least one day<' in page.text
    # A post without the form's boxes (a script's) means every day, as before weekdays.
    assert root.submit(new, days_off).status_code == 303


def test_an_account_sees_times_in_its_own_zone_with_utc_on_hover(root: Any, db: Database) -> None:
    seeded: Seeded = seed_directory(db)
    assert root.submit("/account/timezone", {"timezone": "Mars/Olympus"}).status_code == 422
    assert root.submit("/account/timezone", {"timezone": "America/New_York"}).status_code == 303
    schedule = {**OFFICE_HOURS, "timezone": "Asia/Tokyo"}
    assert root.submit(f"/organizations/{seeded.org_id}/schedules/new", schedule).status_code == 303
    with db.session() as session:
        schedule_id = session.scalars(select(Schedule.id).where(Schedule.name == "office")).one()
    page = root.page(f"/schedules/{schedule_id}").text
    shown = re.findall(r'<time datetime="([^"]+)" title="([^"]+) UTC">([^<]+)</time>', page)
    assert len(shown) == 5
    for iso, utc_text, local in shown:
        moment = datetime.fromisoformat(iso)
        assert utc_text == moment.strftime("%Y-%m-%d %H:%M:%S")
        assert local.endswith(("EST", "EDT"))  # New York, not UTC nor Tokyo
    # A new schedule starts in the account's zone.
    form = root.page(f"/organizations/{seeded.org_id}/schedules/new").text
    assert "<option selected>America/New_York</option>" in form


def test_the_api_takes_and_gives_weekdays(api: Any, db: Database) -> None:
    seeded: Seeded = seed_directory(db)
    admin = api(Role.ADMIN)
    body = {"name": "weekends", "interval_seconds": 7200, "weekdays": ["sat", "Sunday"]}
    made = admin.post(f"/api/v1/organizations/{seeded.org_id}/schedules", json=body)
    assert made.status_code == 201, made.text
    assert made.json()["weekdays"] == ["sat", "sun"]
    body["weekdays"] = ["caturday"]
    refused = admin.put(f"/api/v1/schedules/{made.json()['id']}", json=body)
    assert refused.status_code == 422
    assert "caturday" in refused.text


def test_a_token_reads_and_sets_its_accounts_display_zone(api: Any, db: Database) -> None:
    reader = api(Role.READ_ONLY)
    assert reader.get("/api/v1/me").json()["timezone"] == "UTC"
    assert reader.put("/api/v1/me/timezone", json={"timezone": "Nowhere/Land"}).status_code == 422
    changed = reader.put("/api/v1/me/timezone", json={"timezone": "Asia/Kolkata"})
    assert changed.status_code == 200 and changed.json()["timezone"] == "Asia/Kolkata"
    assert reader.get("/api/v1/me").json()["timezone"] == "Asia/Kolkata"
