"""The runs list and a run's change log exported as CSV through the REST API with a bearer
token, on SQLite and PostgreSQL: the same files the pages export (filters, sort, formula-safe
cells), and delegate grant changes for super administrators only."""

from __future__ import annotations

from typing import Any

import pytest

from tenantsync.console.ops.grant_data import GRANT_ENTITY
from tenantsync.store.database import Database
from tenantsync.store.models import Role
from tests.support.run_tables import (
    CHANGES,
    GRANT_KEY,
    RUNS,
    Seeded,
    in_order,
    rows_of,
    seed_run_tables,
)

WITHOUT_GRANTS = [c for c in CHANGES if c[1] != GRANT_ENTITY]


@pytest.fixture
def seeded(db: Database) -> Seeded:
    return seed_run_tables(db)


def test_a_token_exports_the_runs_list_as_the_page_does_with_its_filters_and_sort(
    seeded: Seeded, api: Any, root: Any
) -> None:
    reader = api(Role.READ_ONLY)
    query = f"?task_id={seeded.alpha_id}&status=failed&sort=-duration"
    exported = reader.get(f"/api/v1/runs.csv{query}")
    rows = rows_of(exported)
    assert exported.content == root.get(f"/runs.csv{query}").content, "the page's file"
    assert {r["task"] for r in rows} == {"alpha"} and {r["status"] for r in rows} == {"failed"}
    durations = [int(r["duration_seconds"]) for r in rows]
    assert durations == sorted(durations, reverse=True) and len(rows) == 10
    everything = rows_of(reader.get("/api/v1/runs.csv"))
    assert [int(r["run"]) for r in everything] == sorted(seeded.run_ids, reverse=True)
    assert {r["requested_by"] for r in everything} - {""} == {"'=cmd|' /C calc'!A0"}
    assert "attachment" in exported.headers["content-disposition"]
    listed = reader.get("/api/v1/runs", params={"sort": "duration", "per_page": RUNS}).json()
    by_duration = rows_of(reader.get("/api/v1/runs.csv?sort=duration"))
    assert [r["id"] for r in listed["items"]] == [int(r["run"]) for r in by_duration]


@pytest.mark.parametrize("sort", ["order", "-address", "entity"])
def test_a_runs_changes_export_has_grant_rows_for_a_super_administrator_token_only(
    seeded: Seeded, api: Any, sort: str
) -> None:
    url = f"/api/v1/runs/{seeded.changed_run_id}/changes.csv?sort={sort}"
    everything = rows_of(api(Role.SUPER_ADMIN).get(url))
    assert [r["key"] for r in everything] == in_order(sort)
    assert GRANT_ENTITY in {r["entity"] for r in everything}
    for role in (Role.ADMIN, Role.READ_ONLY):
        rows = rows_of(api(role).get(url))
        assert [r["key"] for r in rows] == in_order(sort, WITHOUT_GRANTS), role
        assert GRANT_KEY not in str(rows)
        assert rows_of(api(role).get(f"{url}&entity={GRANT_ENTITY}")) == [], role


def test_a_runs_changes_export_takes_the_change_logs_filters(
    seeded: Seeded, api: Any, root: Any
) -> None:
    root_token = api(Role.SUPER_ADMIN)
    query = "?action=add&address=CONTOSO&sort=-address"
    exported = root_token.get(f"/api/v1/runs/{seeded.changed_run_id}/changes.csv{query}")
    assert [r["key"] for r in rows_of(exported)] == ["room1@contoso.example", GRANT_KEY]
    page_export = root.get(f"/runs/{seeded.changed_run_id}/changes.csv{query}")
    assert exported.content == page_export.content, "the page's file"
    log = root_token.get(
        f"/api/v1/runs/{seeded.changed_run_id}/changes", params={"sort": "-address"}
    ).json()
    assert [c["key"] for c in log["items"]] == in_order("-address")
    reader_log = api(Role.READ_ONLY).get(
        f"/api/v1/runs/{seeded.changed_run_id}/changes", params={"sort": "-address"}
    )
    assert [c["key"] for c in reader_log.json()["items"]] == in_order("-address", WITHOUT_GRANTS)
    assert reader_log.json()["hidden"] == 1


def test_the_exports_want_a_token_and_an_existing_run(seeded: Seeded, api: Any, root: Any) -> None:
    changes = f"/api/v1/runs/{seeded.changed_run_id}/changes.csv"
    for url in ("/api/v1/runs.csv", changes):
        assert api(None).get(url).status_code == 401
        assert root.get(url).status_code == 401, "a signed-in session is not a token"
    reader = api(Role.READ_ONLY)
    assert reader.get("/api/v1/runs/999999/changes.csv").status_code == 404
    assert reader.get("/api/v1/runs.csv?status=finished-ish").status_code == 422
