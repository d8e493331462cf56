"""Where a mailbox lives is shown on its page and in the API, read-only."""

from __future__ import annotations

from typing import Any

import pytest

from tenantsync.store.database import Database
from tenantsync.store.models import Location, Mailbox, Role
from tests.integration.console.conftest import Client
from tests.support.console import Seeded, seed_directory


@pytest.fixture
def seeded(db: Database) -> Seeded:
    found = seed_directory(db)
    with db.session() as session:
        shared = session.get_one(Mailbox, found.shared_id)
        shared.location = Location.REMOTE
        shared.recipient_type = "RemoteSharedMailbox"
    return found


def test_the_mailbox_page_says_where_the_mailbox_lives(make_client: Any, seeded: Seeded) -> None:
    reader: Client = make_client(Role.READ_ONLY)
    shared = reader.page(f"/mailboxes/{seeded.shared_id}").text
    assert "remote (stands for a mailbox on the other side)" in shared
    assert "RemoteSharedMailbox" in shared
    user = reader.page(f"/mailboxes/{seeded.user_id}").text
    assert '<dd id="location">cloud</dd>' in user


def test_the_api_shows_location_and_recipient_type_as_read_only_fields(
    api: Any, seeded: Seeded
) -> None:
    reader = api(Role.READ_ONLY)
    shared = reader.get(f"/api/v1/mailboxes/{seeded.shared_id}").json()
    assert (shared["location"], shared["recipient_type"]) == ("remote", "RemoteSharedMailbox")
    listed = reader.get(f"/api/v1/organizations/{seeded.org_id}/mailboxes").json()["items"]
    by_address = {m["primary_address"]: m for m in listed}
    assert by_address["adele@contoso.example"]["location"] == "cloud"
    assert by_address["adele@contoso.example"]["recipient_type"] is None
    schema = reader.get("/api/v1/openapi.json").json()["components"]["schemas"]["MailboxOut"]
    assert schema["properties"]["location"]["readOnly"] is True
    assert schema["properties"]["recipient_type"]["readOnly"] is True
