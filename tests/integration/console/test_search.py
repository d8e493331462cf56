"""Searching mailboxes, groups and organizations finds a name whatever the case and accents
of the name and of what was typed: in the console, the API and `users list --search`, on
SQLite and PostgreSQL; whatever is written, an alias alone included, is found at once."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from tenantsync.cli import main
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import (
    GroupKind,
    Mailbox,
    MailboxAlias,
    MailboxKind,
    Role,
    SourceGroup,
)
from tests.support.console import Seeded, seed_directory

OMER = "Ömer Y\u0131lmaz"  # with a dotless i, as Turkish writes it
PEOPLE = {
    OMER: "oyilmaz@contoso.example",
    "Søren Åberg": "saberg@contoso.example",
    "Zoë Straße": "zstrasse@contoso.example",
    "Łukasz Żółć": "lzolc@contoso.example",
    "Ελένη Παπαδοπούλου": "epapadopoulou@contoso.example",
    "ДМИТРИЙ Иванов": "divanov@contoso.example",
    "100% Sure_Thing": "sure@contoso.example",
}
FOUND = {
    "Ömer": {OMER},
    "omer": {OMER},
    "ÖMER": {OMER},
    "Omer": {OMER},
    "yilmaz": {OMER},
    "soren aberg": {"Søren Åberg"},
    "STRASSE": {"Zoë Straße"},
    "zoe": {"Zoë Straße"},
    "lukasz zolc": {"Łukasz Żółć"},
    "ελενη": {"Ελένη Παπαδοπούλου"},
    "дмитрий": {"ДМИТРИЙ Иванов"},
    "100%": {"100% Sure_Thing"},
    "u_e": set(),  # "_" is no wildcard: "Sure" does not match
    "OYILMAZ@": {OMER},
}


@pytest.fixture
def seeded(db: Database) -> Seeded:
    seeded = seed_directory(db)
    with db.session() as session:
        for name, address in PEOPLE.items():
            session.add(
                Mailbox(
                    organization_id=seeded.org_id,
                    primary_address=address,
                    display_name=name,
                    kind=MailboxKind.USER,
                )
            )
        session.add(
            SourceGroup(
                organization_id=seeded.org_id,
                source_id="g-2",
                name="Équipe Montréal",
                kind=GroupKind.SECURITY,
            )
        )
    return seeded


def test_mailbox_search_ignores_case_and_accents_in_the_console_and_the_api(
    make_client: Any, api: Any, seeded: Seeded
) -> None:
    reader = make_client(Role.READ_ONLY)
    token = api(Role.READ_ONLY)
    url = f"/organizations/{seeded.org_id}/mailboxes"
    by_address = {address: name for name, address in PEOPLE.items()}
    for query, names in FOUND.items():
        page = reader.page(url, params={"q": query}).text
        listed = set(re.findall(r'href="/mailboxes/\d+">([^<]+)<', page))
        assert {by_address[a] for a in listed if a in by_address} == names, query
        items = token.get(f"/api/v1{url}", params={"q": query}).json()["items"]
        assert {m["display_name"] for m in items} - {"Adele Vance"} == names, query


def test_group_and_organization_search_ignore_case_and_accents(
    make_client: Any, api: Any, seeded: Seeded
) -> None:
    token = api(Role.READ_ONLY)
    for query in ("equipe montreal", "ÉQUIPE", "Montréal"):
        groups = token.get(
            f"/api/v1/organizations/{seeded.org_id}/groups", params={"q": query}
        ).json()["items"]
        assert [g["name"] for g in groups] == ["Équipe Montréal"], query
    found = token.get("/api/v1/organizations", params={"q": "CONTOSO"}).json()["items"]
    assert [o["name"] for o in found] == ["contoso"]


def test_users_list_search_ignores_case_and_accents(
    seeded: Seeded, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("TENANTSYNC_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("TENANTSYNC_DATA_DIR", str(settings.data_dir))
    for query in ("omer", "ÖMER", "Ömer", "Omer"):
        capsys.readouterr()
        with pytest.raises(SystemExit) as done:
            main(["users", "list", "contoso", "--search", query, "--json"])
        assert not done.value.code
        listed = json.loads(capsys.readouterr().out)
        assert [m["name"] for m in listed] == [OMER], query


def test_what_is_written_one_by_one_is_found_at_once_an_alias_too(
    db: Database, seeded: Seeded, make_client: Any
) -> None:
    reader = make_client(Role.READ_ONLY)

    def people(query: str) -> set[str]:
        html = reader.page("/search", params={"q": query}).text
        return set(re.findall(r'href="/mailboxes/\d+">([^<]+)<', html))

    assert people("AV@CONTOSO") == {"Adele Vance"}  # by her alias
    with db.session() as session:
        adele = session.get_one(Mailbox, seeded.user_id)
        adele.display_name = "Adèle Vancé-Øster"
        adele.aliases.clear()
        session.add(
            MailboxAlias(
                organization_id=seeded.org_id,
                mailbox_id=seeded.user_id,
                address="ao@contoso.example",
            )
        )
    assert people("adele vance-oster") == {"Adèle Vancé-Øster"}
    assert people("ao@contoso") == {"Adèle Vancé-Øster"}
    assert people("av@contoso") == set()
    with db.session() as session:
        group = session.scalars(select(SourceGroup).where(SourceGroup.source_id == "g-1")).one()
        group.name = "Støtte"
    html = reader.page("/search", params={"q": "STOTTE"}).text
    assert 'id="found-groups"' in html and "Støtte" in html
