"""An organization's delegate grants as one table, for super administrators only: sorted,
filtered by right and source, exported as CSV, and manual grants revoked in bulk while a
sync's grants stay; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from sqlalchemy import select

from tenantsync.console.ops.grant_data import HIDDEN
from tenantsync.store.database import Database
from tenantsync.store.models import AuditEntry, DelegateGrant, Mailbox, Right, Role
from tests.support.console import Seeded, seed_directory


def grant_by_hand(db: Database, seeded: Seeded, count: int) -> list[int]:
    """``count`` manual grants of Send As on the shared mailbox, to new people."""
    ids = []
    with db.session() as session:
        for i in range(count):
            person = Mailbox(
                organization_id=seeded.org_id,
                primary_address=f"p{i:02d}@contoso.example",
                display_name=f"Person {i}",
                kind="user",
            )
            session.add(person)
            session.flush()
            grant = DelegateGrant(
                organization_id=seeded.org_id,
                mailbox_id=seeded.shared_id,
                delegate_id=person.id,
                right=Right.SEND_AS,
                granted_by="root@example.com",
            )
            session.add(grant)
            session.flush()
            ids.append(grant.id)
    return ids


def test_super_administrators_sort_filter_export_and_revoke_manual_grants(
    db: Database, make_client: Any
) -> None:
    seeded = seed_directory(db)
    manual = grant_by_hand(db, seeded, 30)
    root = make_client(Role.SUPER_ADMIN)
    url = f"/organizations/{seeded.org_id}/delegations"

    page = root.page(url + "?sort=-delegate&per_page=25").text
    assert "1\N{EN DASH}25 of 31" in page
    delegates = re.findall(r'</a></td><td><a href="/mailboxes/\d+">([^<]+)</a>', page)
    assert delegates == sorted(delegates, reverse=True) and delegates[0] == "p29@contoso.example"
    assert "Send As" in page

    by_task = root.page(url + "?origin=task").text
    assert "1\N{EN DASH}1 of 1" in by_task and "Full Access" in by_task
    assert f'href="/runs/{seeded.failed_run_id}"' in by_task and "Helpdesk" in by_task
    assert 'name="ids"' not in by_task  # a sync's grant cannot be ticked

    exported = root.get(url + ".csv?right=send_as&sort=delegate")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert len(rows) == 30 and {r["right"] for r in rows} == {"Send As"}
    assert rows[0]["delegate"] == "p00@contoso.example"
    assert rows[0]["source"] == "manual, by root@example.com"

    picked = [str(i) for i in manual[:5]] + [str(seeded.grant_id)]
    answer = root.post(
        url + "/revoke", data={"csrf": root.csrf, "ids": picked, "back": "?origin=manual"}
    )
    assert answer.status_code == 303 and answer.headers["location"].endswith("?origin=manual")
    assert "5 manual grants revoked" in root.page(answer.headers["location"]).text
    with db.session() as session:
        left = set(session.scalars(select(DelegateGrant.id)))
        assert seeded.grant_id in left  # the task's grant stays
        assert not left & set(manual[:5])
        revoked = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "delegate.revoke")
        ).all()
        assert len(revoked) == 5


def test_other_roles_never_see_the_grant_table_or_its_export(
    db: Database, make_client: Any
) -> None:
    seeded = seed_directory(db)
    url = f"/organizations/{seeded.org_id}/delegations"
    for role in (Role.ADMIN, Role.READ_ONLY):
        client = make_client(role)
        assert client.page(url).status_code == 403
        export = client.get(url + ".csv")
        assert export.status_code == 403 and "adele@contoso.example" not in export.text
        assert "/delegations" not in client.page(f"/organizations/{seeded.org_id}").text


def test_the_audit_log_sorts_and_exports_without_grants_for_other_roles(
    db: Database, make_client: Any
) -> None:
    seeded = seed_directory(db)
    manual = grant_by_hand(db, seeded, 2)
    root = make_client(Role.SUPER_ADMIN)
    root.page(f"/organizations/{seeded.org_id}/delegations")
    root.post(
        f"/organizations/{seeded.org_id}/delegations/revoke",
        data={"csrf": root.csrf, "ids": [str(i) for i in manual]},
    )
    by_action = root.page("/audit?sort=action").text
    actions = re.findall(r"</td><td>([a-z]+\.[a-z_.]+)</td>", by_action)
    assert actions == sorted(actions) and "delegate.revoke" in actions

    def exported(client: Any) -> list[dict[str, str]]:
        answer = client.get("/audit.csv?action=delegate.")
        return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))

    mine = exported(root)
    assert len(mine) == 2 and "p00@contoso.example" in mine[-1]["detail"] + mine[0]["detail"]
    admin = make_client(Role.ADMIN)
    theirs = exported(admin)
    assert len(theirs) == 2
    assert {r["detail"] for r in theirs} == {HIDDEN} and {r["target"] for r in theirs} == {""}
