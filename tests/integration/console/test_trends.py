"""Trends after a few user syncs: each run's duration and changes per task, and the
organization's mailboxes and billable mailboxes over time, as charts drawn by the console
itself (SVG images, no script), as a table with the same numbers, and in the API."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from tenantsync.sandbox import create_app, generate_tenant
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import (
    ChangeRecord,
    Mailbox,
    MailboxKind,
    Organization,
    Role,
    ScheduledTask,
)
from tests.integration.user_sync.harness import UserSync


def counts_now(db: Database) -> tuple[int, int]:
    """Live mailboxes (group addresses aside) and billable ones, as the store holds them."""
    with db.session() as session:
        live = (Mailbox.deleted_at.is_(None), Mailbox.kind != MailboxKind.GROUP)
        total = session.scalar(select(func.count()).where(*live))
        billable = session.scalar(select(func.count()).where(*live, Mailbox.billable))
        return int(total or 0), int(billable or 0)


def test_three_syncs_draw_their_trends_with_the_numbers_beside(
    db: Database, settings: Settings, tmp_path: Path, root: Any, api: Any
) -> None:
    tenant = generate_tenant(20, seed=11)
    sync = UserSync(db, settings, tenant, create_app(tenant, latency=0), tmp_path)
    expected_counts = []
    run_ids = []
    for step in range(3):
        if step == 1:
            tenant.add_user("Ada Lovelace", department="Research")
            tenant.add_user("Grace Hopper", department="Research")
        if step == 2:
            licensed = [u for u in tenant.users.values() if u.mailbox == "user" and u.licenses]
            tenant.update_user(licensed[0].id, licenses=[])
        result = sync.run()
        assert result.status == "succeeded", result.error
        run_ids.append(result.id)
        expected_counts.append(counts_now(db))
    with db.session() as session:
        org_id = session.scalars(select(Organization.id)).one()
        task_id = session.scalars(select(ScheduledTask.id)).one()
        changes = [
            session.scalar(select(func.count()).where(ChangeRecord.run_id == run_id))
            for run_id in run_ids
        ]
    assert expected_counts[1][0] == expected_counts[0][0] + 2
    assert expected_counts[2][1] == expected_counts[1][1] - 1  # one fewer bills
    assert changes[0] and changes[1] and changes[2]

    reader = api(Role.READ_ONLY)
    org_trend = reader.get(f"/api/v1/organizations/{org_id}/trend").json()["counts"]
    assert [(c["mailboxes"], c["billable"]) for c in org_trend] == expected_counts
    assert [c["run_id"] for c in org_trend] == run_ids
    task_trend = reader.get(f"/api/v1/tasks/{task_id}/trend").json()["runs"]
    assert [r["run_id"] for r in task_trend] == run_ids
    assert [r["changes"] for r in task_trend] == changes
    assert all(r["duration_seconds"] >= 0 and r["status"] == "succeeded" for r in task_trend)

    page = root.page(f"/tasks/{task_id}/trends").text
    assert f'src="/tasks/{task_id}/trends/duration.svg"' in page
    assert f'src="/tasks/{task_id}/trends/changes.svg"' in page
    rows = re.findall(
        r"<tr><td><a href=\"/runs/(\d+)\">.*?<td>([\d.]+)</td><td>(\d+)</td></tr>", page
    )
    assert [(int(r), int(c)) for r, _, c in rows] == list(zip(run_ids, changes, strict=True))[::-1]
    organization = root.page(f"/organizations/{org_id}/trends").text
    shown = re.findall(r"</time></td><td>(\d+)</td><td>(\d+)</td>", organization)
    assert [(int(m), int(b)) for m, b in shown] == expected_counts[::-1]

    for url in (
        f"/tasks/{task_id}/trends/duration.svg",
        f"/tasks/{task_id}/trends/changes.svg",
        f"/organizations/{org_id}/trends/mailboxes.svg",
    ):
        chart = root.page(url)
        assert chart.status_code == 200
        assert chart.headers["content-type"].startswith("image/svg+xml")
        assert "<svg" in chart.text and "script src" not in chart.text
    mailboxes_chart = root.page(f"/organizations/{org_id}/trends/mailboxes.svg").text
    for total, billable in expected_counts:  # the chart's values are the table's
        assert f">{total}<" in mailboxes_chart and f">{billable}<" in mailboxes_chart
