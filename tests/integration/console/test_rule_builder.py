"""The rule builder: filter rules as ordered rows without JSON, moved and removed by plain
form posts, counted against the stored directory, refused at their row, and still JSON in
the options the API and YAML see."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from tenantsync.engine import housekeeping, user_sync
from tenantsync.engine.registry import Registry
from tenantsync.store.database import Database
from tenantsync.store.models import Definition, Mailbox
from tests.support.console import PROBE, Seeded, seed_directory


@pytest.fixture
def registry() -> Registry:
    return Registry([housekeeping.DEFINITION_TYPE, PROBE, user_sync.DEFINITION_TYPE])


@pytest.fixture
def seeded(db: Database) -> Seeded:
    """The console's directory, with departments as a user sync stores them."""
    seeded = seed_directory(db)
    with db.session() as session:
        for mailbox_id, department in ((seeded.user_id, "Sales"), (seeded.shared_id, "Support")):
            mailbox = session.get(Mailbox, mailbox_id)
            assert mailbox is not None
            mailbox.attributes = {"department": department}
    return seeded


def row(
    n: int, field: str, operator: str, value: str, destination: str, **more: str
) -> dict[str, str]:
    out = {
        f"rule.{n}.field": field,
        f"rule.{n}.operator": operator,
        f"rule.{n}.value": value,
        f"rule.{n}.destination": destination,
    }
    return out | {f"rule.{n}.{k}": v for k, v in more.items()}


def values(page: str) -> list[str]:
    """The value of each row, top to bottom."""
    return re.findall(r'id="rule-\d+-value" value="([^"]*)"', page)


def test_rows_are_added_moved_and_removed_without_a_script(root: Any, seeded: Seeded) -> None:
    url = f"/organizations/{seeded.org_id}/definitions/new"
    form = {"type": "user_sync", "name": "users", "rules_builder": "1"}
    page = root.page(f"{url}?type=user_sync").text
    assert 'id="rule-builder"' in page and 'id="f-rules"' not in page
    added = root.submit(url, form | {"rule_action": "add"})
    assert added.status_code == 200 and len(values(added.text)) == 1
    two = (
        form
        | row(0, "department", "equals", "Sales", "Main")
        | row(1, "mail", "contains", "x", "Main")
    )
    moved = root.submit(url, two | {"rule_action": "down:0"})
    assert values(moved.text) == ["x", "Sales"]
    assert re.search(r'id="rule-1-down"[^>]*autofocus', moved.text)  # the key stays on the row
    removed = root.submit(url, two | {"rule_action": "remove:0"})
    assert values(removed.text) == ["x"]


def test_saved_rows_are_json_options_and_each_shows_how_many_mailboxes_it_routes(
    root: Any, db: Database, seeded: Seeded
) -> None:
    url = f"/organizations/{seeded.org_id}/definitions/new"
    form = {"type": "user_sync", "name": "users", "rules_builder": "1"}
    form |= row(0, "department", "equals", "sales", "new…", new_group="Vertrieb", name="sales")
    form |= row(1, "department", "equals", "Support", "exclude")
    assert root.submit(url, form).status_code == 303
    with db.session() as session:
        saved = session.scalars(select(Definition).where(Definition.name == "users")).one()
        common = {"field": "department", "operator": "equals", "case_sensitive": False}
        assert saved.options["rules"] == [
            common
            | {"name": "sales", "value": "sales", "policy_group": "Vertrieb"}
            | {"exclude": False},
            common | {"name": None, "value": "Support", "policy_group": None, "exclude": True},
        ]
        definition_id = saved.id
    page = root.page(f"/definitions/{definition_id}").text
    counts = re.findall(r'<output class="rule-count"[^>]*>([^<]*)</output>', page)
    assert counts == ["1 mailbox matches", "1 mailbox matches"]
    assert "1 of 3 stored mailboxes match no rule." in page  # the room

    asked = root.page(
        f"/organizations/{seeded.org_id}/rule-matches",
        params=row(0, "department", "starts-with", "s", "Main")
        | row(1, "mail", "equals", "", "Main"),
    )
    assert asked.json() == {"rules": [2, None], "unmatched": 1, "total": 3}
    in_group = root.page(
        f"/organizations/{seeded.org_id}/rule-matches",
        params=row(0, "memberOf", "member-of", "helpdesk", "exclude")
        | row(1, "accountEnabled", "equals", "true", "Main"),
    )
    assert in_group.json() == {"rules": [1, 2], "unmatched": 0, "total": 3}


def test_a_wrong_rule_is_refused_at_its_row(root: Any, db: Database, seeded: Seeded) -> None:
    url = f"/organizations/{seeded.org_id}/definitions/new"
    form = {"type": "user_sync", "name": "users", "rules_builder": "1"}
    form |= row(0, "department", "equals", "Sales", "Main")
    form |= row(1, "memberOf", "member-of", "No Such Group", "Main")
    page = root.submit(url, form)
    assert page.status_code == 422
    error = re.search(r'id="rule-1-error">([^<]*)<', page.text)
    assert error is not None and "No Such Group" in error.group(1)
    assert 'id="rule-0-error"' not in page.text
    assert values(page.text) == ["Sales", "No Such Group"]  # what was typed stays
    with db.session() as session:
        assert session.scalars(select(Definition).where(Definition.name == "users")).all() == []


def test_domains_are_ticked_from_the_organizations_own(
    root: Any, db: Database, seeded: Seeded
) -> None:
    url = f"/organizations/{seeded.org_id}/definitions/new"
    page = root.page(f"{url}?type=user_sync").text
    assert 'name="domain.contoso.example"' in page and 'id="f-domains"' in page
    form = {"type": "user_sync", "name": "users", "rules_builder": "1", "domains_picker": "1"}
    assert root.submit(url, form | {"domain.contoso.example": "on"}).status_code == 303
    with db.session() as session:
        saved = session.scalars(select(Definition).where(Definition.name == "users")).one()
        assert saved.options["domains"] == ["contoso.example"]
        definition_id = saved.id
    shown = root.page(f"/definitions/{definition_id}").text
    assert re.search(r'name="domain.contoso.example" value="on" checked', shown)
