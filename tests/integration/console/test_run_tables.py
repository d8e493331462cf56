"""The run list and a run's change log as tables, on SQLite and PostgreSQL: the list sorted
by a column (duration too) both ways in a stable order (runs without a start, an end or a
duration last either way), paged with a page size, filters kept in the URL, the filtered
set exported as CSV; a run's changes sorted by a column and exported with the tab's filters
and order, delegate grant changes for super administrators only."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from tenantsync.console.ops.grant_data import GRANT_ENTITY
from tenantsync.store.database import Database
from tenantsync.store.models import Role, Run, RunStatus, Trigger
from tenantsync.timeutil import utcnow
from tests.support.run_tables import (
    CHANGES,
    COLUMN_OF,
    GRANT_KEY,
    RUNS,
    Seeded,
    in_order,
    rows_of,
    seed_run_tables,
)


@pytest.fixture
def seeded(db: Database) -> Seeded:
    return seed_run_tables(db)


def run_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<a href="/runs/(\d+)">#', html)]


def change_keys(html: str) -> list[str]:
    """The addresses of the changes tab's rows, top to bottom."""
    return re.findall(r'<td>([^<]*)</td><td class="diff">', html)


@pytest.mark.parametrize("sort", ["finished", "-finished", "queued", "-queued", "task", "-task"])
def test_pages_sorted_by_a_column_follow_it_and_the_export_order(
    seeded: Seeded, root: Any, sort: str
) -> None:
    listed: list[int] = []
    for page in (1, 2, 3):
        listed += run_ids(root.page(f"/runs?sort={sort}&per_page=25&page={page}").text)
    assert sorted(listed) == sorted(seeded.run_ids), "every run once, none twice"
    exported = rows_of(root.get(f"/runs.csv?sort={sort}"))
    assert [int(r["run"]) for r in exported] == listed
    column = {"finished": "finished", "queued": "queued", "task": "task"}[sort.lstrip("-")]
    values = [r[column] for r in exported]
    assert values == sorted(values, reverse=sort.startswith("-"))


def test_runs_sort_by_duration_with_the_unfinished_last_either_way(
    seeded: Seeded, db: Database, root: Any
) -> None:
    start = utcnow() - timedelta(hours=1)

    def started(seconds: float | None) -> Run:
        """A run started an hour ago that took ``seconds`` (None: still running)."""
        return Run(
            task_id=seeded.alpha_id,
            trigger=Trigger.SCHEDULE,
            status=RunStatus.RUNNING if seconds is None else RunStatus.SUCCEEDED,
            started_at=start,
            finished_at=None if seconds is None else start + timedelta(seconds=seconds),
        )

    with db.session() as session:
        extra = [
            Run(task_id=seeded.alpha_id, trigger=Trigger.MANUAL, status=RunStatus.QUEUED),
            started(None),
            started(11),  # as long as the seeded run 10: the id decides between them
            started(1.5),  # shorter than any other, by a part of a second
        ]
        session.add_all(extra)
        session.flush()
        took = {r.id: r.duration_seconds for r in session.query(Run)}
    finished = [i for i, seconds in took.items() if seconds is not None]
    unfinished = sorted(i for i, seconds in took.items() if seconds is None)
    assert len(unfinished) == 2
    for sort, descending in (("duration", False), ("-duration", True)):
        order = sorted(finished, key=lambda i: (took[i], i), reverse=descending)
        expected = order + sorted(unfinished, reverse=descending)
        listed: list[int] = []
        for page in (1, 2, 3):
            html = root.page(f"/runs?sort={sort}&per_page=25&page={page}").text
            listed += run_ids(html)
        assert listed == expected, sort
        exported = rows_of(root.get(f"/runs.csv?sort={sort}"))
        assert [int(r["run"]) for r in exported] == expected
        assert [r["duration_seconds"] for r in exported[-2:]] == ["", ""]
    first = root.page("/runs?sort=duration").text
    assert re.search(
        r'aria-sort="ascending">\s*<a class="sort active" href="[^"]*">Duration', first
    )
    assert "<td>1.5 s</td>" in first


@pytest.mark.parametrize("column", ["started", "finished"])
def test_runs_sort_by_start_or_end_with_those_without_one_last_either_way(
    seeded: Seeded, db: Database, root: Any, column: str
) -> None:
    start = utcnow() - timedelta(hours=1)
    with db.session() as session:
        extra = [
            Run(task_id=seeded.alpha_id, trigger=Trigger.MANUAL, status=RunStatus.QUEUED),
            Run(
                task_id=seeded.alpha_id,
                trigger=Trigger.SCHEDULE,
                status=RunStatus.RUNNING,
                started_at=start,
            ),
        ]
        session.add_all(extra)
        session.flush()
        when = {r.id: getattr(r, f"{column}_at") for r in session.query(Run)}
    dated = [i for i, at in when.items() if at is not None]
    undated = sorted(i for i, at in when.items() if at is None)
    assert undated
    for sort, descending in ((column, False), (f"-{column}", True)):
        expected = sorted(dated, key=lambda i: (when[i], i), reverse=descending)
        expected += sorted(undated, reverse=descending)
        listed: list[int] = []
        for page in (1, 2, 3):
            listed += run_ids(root.page(f"/runs?sort={sort}&per_page=25&page={page}").text)
        assert listed == expected, sort
        exported = rows_of(root.get(f"/runs.csv?sort={sort}"))
        assert [int(r["run"]) for r in exported] == expected, sort
        assert {r[column] for r in exported[-len(undated) :]} == {""}


def test_the_default_order_is_newest_first_and_the_pager_says_which_rows(
    seeded: Seeded, root: Any
) -> None:
    html = root.page("/runs?per_page=25&page=2").text
    assert run_ids(html) == sorted(seeded.run_ids, reverse=True)[25:50]
    assert "26\N{EN DASH}50 of 60" in html
    assert 'name="per_page"' in html and 'name="page"' in html
    ascending = root.page("/runs?sort=run").text
    assert run_ids(ascending) == sorted(seeded.run_ids)[:50], "50 a page unless asked"
    assert "1\N{EN DASH}50 of 60" in ascending


def test_filters_stay_in_the_url_and_the_export_is_the_filtered_set(
    seeded: Seeded, root: Any
) -> None:
    url = f"/runs?task_id={seeded.alpha_id}&status=failed&sort=-finished"
    html = root.page(url).text
    expected = [i for n, i in enumerate(seeded.run_ids) if n % 2 and n % 3 == 0]
    assert sorted(run_ids(html)) == sorted(expected)
    assert f'href="/runs.csv?task_id={seeded.alpha_id}&amp;status=failed&amp;sort=-finished' in html
    sort_link = re.search(r'<a class="sort[^"]*" href="([^"]+)">Task', html)
    assert sort_link and "status=failed" in sort_link.group(1)
    rows = rows_of(root.get(f"/runs.csv?task_id={seeded.alpha_id}&status=failed&sort=-finished"))
    assert len(rows) == len(expected)
    assert {r["task"] for r in rows} == {"alpha"} and {r["status"] for r in rows} == {"failed"}
    assert list(rows[0]) == [
        "run",
        "task",
        "organization",
        "trigger",
        "status",
        "queued",
        "started",
        "finished",
        "duration_seconds",
        "requested_by",
        "error",
    ]


def test_the_runs_export_is_formula_safe_and_counts_every_run(seeded: Seeded, root: Any) -> None:
    rows = rows_of(root.get("/runs.csv"))
    assert len(rows) == RUNS
    assert [int(r["run"]) for r in rows] == sorted(seeded.run_ids, reverse=True)
    by = {r["requested_by"] for r in rows} - {""}
    assert by == {"'=cmd|' /C calc'!A0"}
    assert rows[0]["duration_seconds"] == str(RUNS)  # 2 + 59 - 1 seconds


def test_the_change_log_export_hides_grants_from_all_but_super_administrators(
    seeded: Seeded, make_client: Any
) -> None:
    url = f"/runs/{seeded.changed_run_id}/changes.csv"
    root = rows_of(make_client(Role.SUPER_ADMIN).get(url))
    assert [r["key"] for r in root] == [
        "av@contoso.example",
        GRANT_KEY,
        "room1@contoso.example",
        "old@contoso.example",
    ]
    assert list(root[0]) == ["at", "action", "entity", "key", "actor", "before", "after"]
    assert json.loads(root[0]["before"]) == {"display_name": "A"}
    for role in (Role.ADMIN, Role.READ_ONLY):
        rows = rows_of(make_client(role).get(url))
        assert GRANT_KEY not in str(rows) and GRANT_ENTITY not in {r["entity"] for r in rows}
        assert len(rows) == 3
        granted = rows_of(make_client(role).get(f"{url}?entity={GRANT_ENTITY}"))
        assert granted == []


def test_the_change_log_export_follows_the_tabs_filters(seeded: Seeded, root: Any) -> None:
    page = root.page(f"/runs/{seeded.changed_run_id}?tab=changes&action=add").text
    link = re.search(r'id="export-changes" href="([^"]+)"', page)
    assert link is not None
    rows = rows_of(root.get(link.group(1).replace("&amp;", "&")))
    assert [r["key"] for r in rows] == [GRANT_KEY, "room1@contoso.example"]
    by_address = rows_of(
        root.get(f"/runs/{seeded.changed_run_id}/changes.csv?action=add&address=ROOM")
    )
    assert [r["key"] for r in by_address] == ["room1@contoso.example"]
    assert root.get("/runs/999999/changes.csv").status_code == 404


def test_a_runs_changes_sort_by_each_column_either_way_on_the_tab_and_in_its_export(
    seeded: Seeded, make_client: Any
) -> None:
    root, reader = make_client(Role.SUPER_ADMIN), make_client(Role.READ_ONLY)
    url = f"/runs/{seeded.changed_run_id}"
    for sort in [d + k for k in COLUMN_OF for d in ("", "-")]:
        expected = in_order(sort)
        paged = [root.page(f"{url}?sort={sort}&per_page=2&page={n}").text for n in (1, 2)]
        assert change_keys(paged[0]) + change_keys(paged[1]) == expected, sort
        exported = rows_of(root.get(f"{url}/changes.csv?sort={sort}"))
        assert [r["key"] for r in exported] == expected, sort
        # Grant changes stay out for other roles, whatever the order.
        no_grants = in_order(sort, [c for c in CHANGES if c[1] != GRANT_ENTITY])
        assert change_keys(reader.page(f"{url}?sort={sort}").text) == no_grants, sort
        assert [r["key"] for r in rows_of(reader.get(f"{url}/changes.csv?sort={sort}"))] == (
            no_grants
        )
    default = root.page(url).text
    assert change_keys(default) == in_order("order")
    assert re.search(r'aria-sort="ascending">\s*<a class="sort active" href="[^"]*">At', default)
    assert change_keys(root.page(f"{url}?sort=-nonsense").text) == in_order("order")


def test_the_change_tabs_sort_stays_in_the_url_with_its_filters(seeded: Seeded, root: Any) -> None:
    url = f"/runs/{seeded.changed_run_id}"
    html = root.page(f"{url}?tab=changes&action=add&sort=-address&per_page=25").text
    assert change_keys(html) == ["room1@contoso.example", GRANT_KEY]
    assert re.search(r'aria-sort="descending">\s*<a class="sort active"[^>]*>Address', html)
    entity = re.search(r'<a class="sort" href="([^"]+)">Entity', html)
    assert entity and "action=add" in entity.group(1) and "sort=entity" in entity.group(1)
    address = re.search(r'<a class="sort active" href="([^"]+)">Address', html)
    assert address and "sort=address" in address.group(1), "a second click reverses it"
    assert '<input type="hidden" name="sort" value="-address">' in html
    link = re.search(r'id="export-changes" href="([^"]+)"', html)
    assert link and "sort=-address" in link.group(1)
    rows = rows_of(root.get(link.group(1).replace("&amp;", "&")))
    assert [r["key"] for r in rows] == ["room1@contoso.example", GRANT_KEY]
    pager = root.page(f"{url}?tab=changes&sort=entity&per_page=1").text
    following = re.search(r'href="([^"]+)" rel="next"', pager)
    assert following and "sort=entity" in following.group(1)
