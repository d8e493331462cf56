"""Bad input in the console and the REST API: a 422 (API) or the form shown again with the
error at its field (pages), never a 500, and nothing stored; on SQLite and PostgreSQL."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from tenantsync.engine import housekeeping, user_sync
from tenantsync.engine.registry import Registry
from tenantsync.store.database import Database
from tenantsync.store.models import (
    Base,
    Connection,
    ConsoleAccount,
    Definition,
    Domain,
    Organization,
    Role,
    Schedule,
    ScheduledTask,
)
from tests.support.console import PROBE, Seeded, seed_directory

# Each is valid but for its length, which is over what its column holds.
LONG_DOMAIN = ".".join(["a" * 60] * 5) + ".com"  # 308 characters, 255 fit
LONG_CRON = ",".join(str(m) for m in range(60)) + " * * * *"  # 177 characters, 120 fit
LONG_DN = "CN=" + "x" * 1100 + ",OU=Staff,DC=contoso,DC=example"  # 1024 fit
LONG_EMAIL = "a" * 400 + "@contoso.example"  # 320 fit


@pytest.fixture
def registry() -> Registry:
    """The console's types and user sync, whose filter rules name groups."""
    return Registry([housekeeping.DEFINITION_TYPE, PROBE, user_sync.DEFINITION_TYPE])


@pytest.fixture
def seeded(db: Database) -> Seeded:
    """An organization whose synced directory has the group Helpdesk
    (helpdesk@contoso.example) and mailboxes under OU=Staff,DC=contoso,DC=example."""
    return seed_directory(db)


def error_at(page: Any, field: str) -> str:
    """The error the form shows next to ``field``."""
    assert page.status_code == 422, page.text[:500]
    found = re.search(rf'id="err-{re.escape(field)}">([^<]*)<', page.text)
    assert found, f"no error shown at {field}"
    return html.unescape(found.group(1))


def rule_error(page: Any, row: int = 0) -> str:
    """The error the rule builder shows at a rule's row."""
    assert page.status_code == 422, page.text[:500]
    found = re.search(rf'id="rule-{row}-error">([^<]*)<', page.text)
    assert found, f"no error shown at rule {row + 1}"
    return html.unescape(found.group(1))


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


def rows(db: Database, model: type[Base]) -> int:
    with db.session() as session:
        return session.query(model).count()


def definition_of(db: Database, seeded: Seeded) -> int:
    with db.session() as session:
        task = session.get(ScheduledTask, seeded.task_id)
        assert task is not None
        return task.definition_id


def test_every_form_refuses_a_value_longer_than_the_store_holds_at_its_field(
    root: Any, seeded: Seeded, db: Database
) -> None:
    org = f"/organizations/{seeded.org_id}"
    definition = str(definition_of(db, seeded))
    cases: list[tuple[str, dict[str, str], str, type[Base]]] = [
        (
            "/organizations",
            {"name": "fabrikam", "display_name": "F" * 300},
            "display_name",
            Organization,
        ),
        ("/organizations", {"name": "f" * 121}, "name", Organization),
        (f"{org}/domains", {"name": LONG_DOMAIN}, "name", Domain),
        (f"{org}/schedules/new", {"name": "s", "cron": LONG_CRON}, "cron", Schedule),
        (f"{org}/schedules/new", {"name": "s" * 121, "interval_seconds": "60"}, "name", Schedule),
        (f"{org}/definitions/new", {"type": "probe", "name": "d" * 121}, "name", Definition),
        (
            f"{org}/tasks/new",
            {"name": "t", "definition_id": definition, "scope_kind": "dn", "scope_dn": LONG_DN},
            "scope_value",
            ScheduledTask,
        ),
        (
            f"{org}/connections/new",
            {"name": "c" * 121, "tenant_id": "t", "client_id": "c", "client_secret": "s"},
            "name",
            Connection,
        ),
        (
            "/accounts",
            {"email": LONG_EMAIL, "password": "a long enough password", "role": "admin"},
            "email",
            ConsoleAccount,
        ),
    ]
    for url, form, field, model in cases:
        before = rows(db, model)
        page = root.submit(url, form)
        assert "at most" in error_at(page, field), (url, field)
        assert rows(db, model) == before, url


def test_the_api_refuses_a_value_longer_than_the_store_holds_naming_the_field(
    api: Any, seeded: Seeded, db: Database
) -> None:
    root = api(Role.SUPER_ADMIN)
    org = f"/api/v1/organizations/{seeded.org_id}"
    definition = definition_of(db, seeded)
    cases: list[tuple[str, dict[str, Any], str, type[Base]]] = [
        (
            "/api/v1/organizations",
            {"name": "fabrikam", "display_name": "F" * 300},
            "display_name",
            Organization,
        ),
        (f"{org}/domains", {"name": LONG_DOMAIN}, "name", Domain),
        (f"{org}/schedules", {"name": "s", "cron": LONG_CRON}, "cron", Schedule),
        (f"{org}/definitions", {"name": "d" * 121, "type": "probe"}, "name", Definition),
        (
            f"{org}/tasks",
            {"name": "t", "definition_id": definition, "scope_kind": "dn", "scope_value": LONG_DN},
            "scope_value",
            ScheduledTask,
        ),
        (
            f"{org}/connections",
            {"name": "c" * 121, "tenant_id": "t", "client_id": "c", "client_secret": "s"},
            "name",
            Connection,
        ),
        (
            "/api/v1/accounts",
            {"email": LONG_EMAIL, "password": "a long enough password", "role": "admin"},
            "email",
            ConsoleAccount,
        ),
    ]
    for url, body, field, model in cases:
        before = rows(db, model)
        answer = root.post(url, json=body)
        assert answer.status_code == 422, (url, answer.status_code, answer.text[:300])
        errors = answer.json()["errors"]
        named = [k for k in errors if k.split(".")[-1] == field]
        assert named and "at most" in errors[named[0]], (url, errors)
        assert rows(db, model) == before, url


def finance_rule(group: str, destination: str = "Finance") -> list[dict[str, str]]:
    return [
        {
            "name": "finance",
            "field": "memberOf",
            "operator": "member-of",
            "value": group,
            "policy_group": destination,
        }
    ]


def test_a_task_scope_naming_what_is_not_synced_is_refused_by_the_form_and_the_api(
    root: Any, api: Any, seeded: Seeded, db: Database
) -> None:
    org = seeded.org_id
    task = {"name": "t", "definition_id": str(definition_of(db, seeded))}
    before = rows(db, ScheduledTask)
    cases = [
        ("dn", "CN=Nobody,OU=Gone,DC=contoso,DC=example", "no synced group, mailbox or container"),
        ("address", "nobody@contoso.example", "no synced group has the address"),
        ("address", "adele@contoso.example", "a mailbox's address, not a group's"),
        ("group", "Marketing", "no synced group named 'Marketing'"),
    ]
    admin = api(Role.ADMIN)
    for kind, value, problem in cases:
        form = {**task, "scope_kind": kind, f"scope_{kind}": value}
        page = root.submit(f"/organizations/{org}/tasks/new", form)
        assert problem in error_at(page, "scope_value"), (kind, value)
        body = {**task, "definition_id": int(task["definition_id"])}
        answer = admin.post(
            f"/api/v1/organizations/{org}/tasks",
            json={**body, "scope_kind": kind, "scope_value": value},
        )
        assert answer.status_code == 422 and problem in answer.json()["errors"]["scope_value"]
    assert rows(db, ScheduledTask) == before
    for kind, value in [
        ("group", "HELPDESK"),
        ("address", "Helpdesk@contoso.example"),
        ("dn", "OU=Staff,DC=contoso,DC=example"),
    ]:
        answer = admin.post(
            f"/api/v1/organizations/{org}/tasks",
            json={**body, "name": kind, "scope_kind": kind, "scope_value": value},
        )
        assert answer.status_code == 201 and answer.json()["notes"] == [], answer.text


def test_a_member_of_rule_naming_an_unknown_group_is_refused_by_the_form_and_the_api(
    root: Any, api: Any, seeded: Seeded, db: Database
) -> None:
    org = seeded.org_id
    form = {"type": "user_sync", "name": "users", "opt.rules": json.dumps(finance_rule("Sales"))}
    page = root.submit(f"/organizations/{org}/definitions/new", form)
    assert rule_error(page).startswith("rule 1 (finance): no synced group named 'Sales'")
    admin = api(Role.ADMIN)
    url = f"/api/v1/organizations/{org}/definitions"
    body = {"name": "users", "type": "user_sync", "options": {"rules": finance_rule("Sales")}}
    answer = admin.post(url, json=body)
    assert answer.status_code == 422
    assert "no synced group named 'Sales'" in answer.json()["errors"]["opt.rules.0.value"]
    long_target = {**body, "options": {"rules": finance_rule("Helpdesk", "P" * 121)}}
    answer = admin.post(url, json=long_target)
    assert answer.status_code == 422
    assert "at most 120" in answer.json()["errors"]["opt.rules.0.policy_group"]
    assert "users" not in definitions(db)
    good = {**body, "options": {"rules": finance_rule("helpdesk")}}
    assert admin.post(url, json=good).status_code == 201


def test_before_the_first_sync_a_scope_or_rule_is_saved_with_a_note(
    root: Any, api: Any, seeded: Seeded
) -> None:
    admin = api(Role.ADMIN)
    fresh = admin.post("/api/v1/organizations", json={"name": "fabrikam"}).json()["id"]
    url = f"/api/v1/organizations/{fresh}"
    users = admin.post(
        f"{url}/definitions",
        json={"name": "users", "type": "user_sync", "options": {"rules": finance_rule("Sales")}},
    )
    assert users.status_code == 201
    assert "group 'Sales' cannot be checked yet" in users.json()["notes"][0]
    probe = admin.post(f"{url}/definitions", json={"name": "p", "type": "probe"}).json()
    task = admin.post(
        f"{url}/tasks",
        json={"name": "t", "definition_id": probe["id"], "scope_kind": "group", "scope_value": "X"},
    )
    assert task.status_code == 201 and "first run checks it" in task.json()["notes"][0]
    saved = root.submit(
        f"/organizations/{fresh}/tasks/new",
        {
            "name": "u",
            "definition_id": str(probe["id"]),
            "scope_kind": "address",
            "scope_address": "sales@fabrikam.example",
        },
    )
    assert saved.status_code == 303
    notice = root.page(saved.headers["location"]).text
    assert "Task u saved; note: distribution group address" in notice


def definitions(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(Definition.name)))


def test_domains_that_are_not_the_organizations_are_refused_by_the_form_and_the_api(
    root: Any, api: Any, seeded: Seeded, db: Database
) -> None:
    org = seeded.org_id
    form = {"type": "user_sync", "name": "users", "opt.domains": '["example.org"]'}
    page = root.submit(f"/organizations/{org}/definitions/new", form)
    shown = error_at(page, "domains")
    assert shown.startswith("example.org is not a domain of the organization")
    assert "contoso.example" in shown
    url = f"/api/v1/organizations/{org}/definitions"
    body = {"name": "users", "type": "user_sync", "options": {"domains": ["example.org"]}}
    answer = api(Role.ADMIN).post(url, json=body)
    assert answer.status_code == 422
    assert "example.org is not a domain" in answer.json()["errors"]["opt.domains"]
    assert "users" not in definitions(db)
    good = {**body, "options": {"domains": ["Contoso.Example"]}}
    assert api(Role.ADMIN).post(url, json=good).status_code == 201


def test_form_errors_are_plain_words_at_their_field(root: Any, seeded: Seeded) -> None:
    org = f"/organizations/{seeded.org_id}"
    bad_rule = [{"field": "department", "operator": "member-of", "value": "x", "exclude": True}]
    page = root.submit(
        f"{org}/definitions/new",
        {"type": "user_sync", "name": "u", "opt.rules": json.dumps(bad_rule)},
    )
    assert rule_error(page) == "rule 1: operator member-of needs field memberOf"
    typo = [{"field": "department", "operator": "equals", "value": "x", "exclude": "maybe"}]
    page = root.submit(
        f"{org}/definitions/new",
        {"type": "user_sync", "name": "u", "opt.rules": json.dumps(typo)},
    )
    assert rule_error(page) == "rule 1, exclude: must be true or false"
    page = root.submit(
        f"{org}/definitions/new",
        {"type": "user_sync", "name": "u", "opt.max_removal_percent": "250"},
    )
    assert error_at(page, "max_removal_percent") == "must be less than or equal to 100"
    for text in (page.text, html.unescape(page.text)):
        assert "opt." not in text.split("<form", 1)[1].replace('name="opt.', "")
        assert "Input should" not in text and "Value error" not in text


def test_the_schedule_form_shows_why_its_allowed_window_is_refused(
    root: Any, api: Any, seeded: Seeded, db: Database
) -> None:
    url = f"/organizations/{seeded.org_id}/schedules/new"
    half = root.submit(url, {"name": "w", "interval_seconds": "3600", "window_start": "22:00"})
    assert error_at(half, "window") == "Allowed window: give both start and end, or neither"
    never = root.submit(
        url, {"name": "w", "cron": "0 12 * * *", "window_start": "01:00", "window_end": "05:00"}
    )
    assert "never fires inside the window" in error_at(never, "window")
    answer = api(Role.ADMIN).post(
        f"/api/v1/organizations/{seeded.org_id}/schedules",
        json={"name": "w", "cron": "0 12 * * *", "window_start": "01:00", "window_end": "05:00"},
    )
    assert answer.status_code == 422 and "never fires" in answer.json()["errors"]["window"]
    assert "w" not in schedules(db)


def test_a_task_scope_without_a_value_says_what_to_give(
    root: Any, seeded: Seeded, db: Database
) -> None:
    url = f"/organizations/{seeded.org_id}/tasks/new"
    task = {"name": "t", "definition_id": str(definition_of(db, seeded))}
    expected = {
        "group": "pick one of the synced groups",
        "dn": "give the distinguished name of the group or container",
        "address": "give the email address of the distribution group",
    }
    for kind, words in expected.items():
        page = root.submit(url, {**task, "scope_kind": kind})
        assert error_at(page, "scope_value").startswith(words), kind
        assert "of the group of the group" not in page.text


def test_a_name_a_configuration_file_could_not_write_is_refused(
    root: Any, api: Any, seeded: Seeded, db: Database
) -> None:
    org = f"/organizations/{seeded.org_id}"
    page = root.submit(f"{org}/schedules/new", {"name": "Sales (EU)", "interval_seconds": "60"})
    assert error_at(page, "name").startswith("use letters, digits, spaces, '.', '_' and '-'")
    answer = api(Role.ADMIN).post(
        f"/api/v1{org}/definitions", json={"name": "EU/Sales", "type": "probe"}
    )
    assert answer.status_code == 422 and "configuration file" in answer.json()["errors"]["name"]
    page = root.submit("/organizations", {"name": "Fabrikam & Co"})
    assert "configuration file" in error_at(page, "name")
    assert root.submit(f"{org}/schedules/new", {"name": "Vertrieb Süd", "interval_seconds": "60"})
    assert "Vertrieb Süd" in schedules(db)
