"""Bad input in the console and the REST API: a 422 (API) or the form shown again with the
error at its field (pages), never a 500, and nothing stored; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from tenantsync.store.database import Database
from tenantsync.store.models import Role, Schedule
from tests.support.console import Seeded, seed_directory


@pytest.fixture
def seeded(db: Database) -> Seeded:
    return seed_directory(db)


def error_at(page: Any, field: str) -> str:
    """The error the form shows next to ``field``."""
    assert page.status_code == 422, page.text[:500]
    found = re.search(rf'id="err-{re.escape(field)}">([^<]*)<', page.text)
    assert found, f"no error shown at {field}"
    return found.group(1)


def schedules(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(Schedule.name)))


def test_a_six_field_cron_is_refused_by_the_schedule_form_and_the_api(
    root: Any, api: Any, seeded: Seeded, db: Database
) -> None:
    form = root.submit(
        f"/organizations/{seeded.org_id}/schedules/new", {"name": "fast", "cron": "* * * * * *"}
    )
    assert "5 fields" in error_at(form, "cron")
    answer = api(Role.ADMIN).post(
        f"/api/v1/organizations/{seeded.org_id}/schedules",
        json={"name": "fast", "cron": "*/10 * * * * *"},
    )
    assert answer.status_code == 422 and "5 fields" in answer.json()["errors"]["cron"]
    assert "fast" not in schedules(db)
