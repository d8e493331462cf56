"""The reverse delegate view: which mailboxes a person can open, and which task or person
granted each — on the delegate access page and through the API, for super administrators."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tenantsync.store.database import Database
from tenantsync.store.models import Mailbox, MailboxAlias, MailboxKind, Role
from tests.support.console import Seeded, seed_directory
from tests.support.factory import make_org

GRANT = {
    "organization": "contoso",
    "mailbox": "info@contoso.example",
    "delegate": "adele@contoso.example",
    "right": "full_access",
    "source": "task nightly probe",
    "origin_is_task": True,
    "via_group": "Helpdesk",
}


@pytest.fixture
def seeded(db: Database) -> Seeded:
    return seed_directory(db)


def shape(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("organization", "mailbox", "delegate", "right", "source", "via_group")
    return {**{k: row[k] for k in keys}, "origin_is_task": row["origin"].startswith("task:")}


def test_the_delegate_page_lists_what_the_person_can_open(
    root: Any, make_client: Any, seeded: Seeded
) -> None:
    page = root.page(f"/mailboxes/{seeded.user_id}/delegates")
    assert page.status_code == 200
    rows = page.text.split('id="can-open"')[1].split("</table>")[0]
    row = re.search(r'<tr><td><a href="/mailboxes/(\d+)">info@contoso\.example</a>.*?</tr>', rows)
    assert row is not None and int(row.group(1)) == seeded.shared_id
    assert "full_access" in row.group(0) and "task nightly probe" in row.group(0)
    assert "Helpdesk" in row.group(0)
    shared = root.page(f"/mailboxes/{seeded.shared_id}/delegates").text
    assert "Opens no other mailbox." in shared.split('id="can-open"')[1]
    for role in (Role.ADMIN, Role.READ_ONLY):
        assert make_client(role).page(f"/mailboxes/{seeded.user_id}/delegates").status_code == 403


def test_the_api_looks_delegations_up_by_mailbox_and_by_address(api: Any, seeded: Seeded) -> None:
    root = api(Role.SUPER_ADMIN)
    by_id = root.get(f"/api/v1/mailboxes/{seeded.user_id}/delegations")
    assert by_id.status_code == 200
    assert [shape(r) for r in by_id.json()] == [GRANT]
    assert root.get(f"/api/v1/mailboxes/{seeded.shared_id}/delegations").json() == []
    for params in ({"of": "av@contoso.example"}, {"on": "INFO@contoso.example"}):
        found = root.get("/api/v1/delegates", params=params)
        assert found.status_code == 200, found.text
        assert [shape(r) for r in found.json()] == [GRANT]
    assert root.get("/api/v1/delegates", params={"of": "room1@contoso.example"}).json() == []
    assert root.get("/api/v1/delegates", params={"of": "nobody@contoso.example"}).status_code == 404
    for params in ({}, {"of": "a@contoso.example", "on": "b@contoso.example"}):
        assert root.get("/api/v1/delegates", params=params).status_code == 422
    for role in (Role.ADMIN, Role.READ_ONLY):
        other = api(role)
        assert other.get(f"/api/v1/mailboxes/{seeded.user_id}/delegations").status_code == 403
        refused = other.get("/api/v1/delegates", params={"of": "adele@contoso.example"})
        assert refused.status_code == 403
        assert "super administrators" in refused.json()["detail"]


def test_an_address_in_several_organizations_needs_the_organization(
    api: Any, seeded: Seeded, db: Database
) -> None:
    with db.session() as session:
        fabrikam = make_org(session, "fabrikam")
        session.add(
            Mailbox(
                organization_id=fabrikam.id,
                primary_address="adele@contoso.example",
                display_name="Adele at Fabrikam",
                kind=MailboxKind.USER,
                licensed=True,
            )
        )
    root = api(Role.SUPER_ADMIN)
    ambiguous = root.get("/api/v1/delegates", params={"of": "adele@contoso.example"})
    assert ambiguous.status_code == 422
    assert "contoso, fabrikam" in ambiguous.json()["detail"]
    contoso = root.get(
        "/api/v1/delegates", params={"of": "adele@contoso.example", "organization": "contoso"}
    )
    assert [shape(r) for r in contoso.json()] == [GRANT]
    fab = root.get(
        "/api/v1/delegates", params={"of": "adele@contoso.example", "organization": "fabrikam"}
    )
    assert fab.status_code == 200 and fab.json() == []


def test_a_mailbox_looked_up_by_id_is_that_mailbox_even_if_its_address_is_an_alias_elsewhere(
    api: Any, root: Any, seeded: Seeded, db: Database
) -> None:
    with db.session() as session:
        shared = session.get_one(Mailbox, seeded.shared_id)
        session.add(
            MailboxAlias(
                organization_id=shared.organization_id,
                mailbox_id=shared.id,
                address="adele@contoso.example",
            )
        )
    by_id = api(Role.SUPER_ADMIN).get(f"/api/v1/mailboxes/{seeded.user_id}/delegations")
    assert by_id.status_code == 200, by_id.text
    assert [shape(r) for r in by_id.json()] == [GRANT]
    page = root.page(f"/mailboxes/{seeded.user_id}/delegates")
    assert page.status_code == 200 and "task nightly probe" in page.text


def test_deleting_a_task_takes_its_grants_along_and_manual_grants_stay(
    api: Any, seeded: Seeded
) -> None:
    root = api(Role.SUPER_ADMIN)
    url = f"/api/v1/mailboxes/{seeded.shared_id}/delegates"
    added = root.post(url, json={"delegate": "room1@contoso.example", "right": "send_as"})
    assert added.status_code == 201
    assert {g["origin"] for g in root.get(url).json()} == {f"task:{seeded.task_id}", "manual"}
    assert api(Role.ADMIN).delete(f"/api/v1/tasks/{seeded.task_id}").status_code == 204
    left = root.get(url).json()
    assert [(g["origin"], g["manual"], g["source"]) for g in left] == [
        ("manual", True, "manual, by root@example.com")
    ]
    assert root.get(f"/api/v1/mailboxes/{seeded.user_id}/delegations").json() == []
