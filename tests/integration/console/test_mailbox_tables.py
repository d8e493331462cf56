"""The mailbox list at real sizes, on SQLite and PostgreSQL: sorted by any column in a stable
order, paged with a page size and a jump, filters kept in the URL, the filtered set exported
as CSV (formula-safe), removed mailboxes restored in bulk, and the search box in the header
finding people in every organization whatever their accents."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from sqlalchemy import select

from tenantsync.console.ops.grant_data import GRANT_ENTITY
from tenantsync.engine.plan import Change
from tenantsync.store.changes import record_changes
from tenantsync.store.database import Database
from tenantsync.store.models import ChangeRecord, Mailbox, MailboxKind, Role
from tests.support.big_directory import BigOrg, big_org
from tests.support.console import seed_directory
from tests.support.factory import make_org

SIZE = 600


@pytest.fixture
def big(db: Database) -> BigOrg:
    return big_org(db, "fabrikam", SIZE)


def addresses(html: str) -> list[str]:
    return re.findall(r'<a href="/mailboxes/\d+">([^<]+)</a>', html)


def rows_of(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    text = response.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_sorting_by_a_column_walks_every_mailbox_once_in_order(big: BigOrg, root: Any) -> None:
    seen: list[str] = []
    names: list[str] = []
    page = 1
    while True:
        url = f"/organizations/{big.org_id}/mailboxes?sort=-name&per_page=200&page={page}"
        html = root.page(url).text
        found = addresses(html)
        if not found:
            break
        seen += found
        names += re.findall(r"</a></td><td>([^<]*)</td>", html)
        page += 1
        if page > 10:
            break
    live = SIZE - big.removed
    assert len(seen) == live == len(set(seen)), "every live mailbox once, none twice"
    folded = [n.casefold() for n in names]
    assert names == sorted(names, reverse=True) or folded == sorted(folded, reverse=True)


@pytest.mark.parametrize("sort", ["policy_group", "-policy_group", "billable", "-billable"])
def test_pages_sorted_by_a_few_valued_column_follow_the_export_order(
    big: BigOrg, root: Any, sort: str
) -> None:
    listed: list[str] = []
    for page in (1, 2, 3):
        url = f"/organizations/{big.org_id}/mailboxes?sort={sort}&per_page=200&page={page}"
        listed += addresses(root.page(url).text)
    exported = rows_of(root.get(f"/organizations/{big.org_id}/mailboxes.csv?sort={sort}"))
    assert listed == [r["primary_address"] for r in exported]
    assert len(listed) == SIZE - big.removed


def test_the_pager_says_which_rows_and_jumps_to_a_page(big: BigOrg, root: Any) -> None:
    live = SIZE - big.removed
    url = f"/organizations/{big.org_id}/mailboxes?kind=user&sort=address&per_page=25"
    first = root.page(url)
    users = re.search(r'id="range">1\N{EN DASH}25 of (\d+)<', first.text)
    assert users is not None and 0 < int(users.group(1)) < live
    assert 'name="per_page"' in first.text and 'aria-sort="ascending"' in first.text
    # The jump form keeps the filters and the sort.
    assert '<input type="hidden" name="kind" value="user">' in first.text
    third = root.page(url + "&page=3")
    assert "51\N{EN DASH}75 of" in third.text
    everything = root.page(url.replace("per_page=25", "per_page=200"))
    assert addresses(third.text) == addresses(everything.text)[50:75]
    # A page size not offered falls back to 50; a page past the end is empty, not an error.
    assert "1\N{EN DASH}50 of" in root.page(url.replace("per_page=25", "per_page=7")).text
    assert root.page(url + "&page=999").status_code == 200


def test_export_is_the_filtered_sorted_set_as_csv(big: BigOrg, db: Database, root: Any) -> None:
    with db.session() as session:
        mbx = session.scalars(
            select(Mailbox).where(Mailbox.organization_id == big.org_id).limit(1)
        ).one()
        mbx.display_name = '=HYPERLINK("http://evil.example")'
        mbx.kind = MailboxKind.SHARED
    url = f"/organizations/{big.org_id}/mailboxes.csv?kind=shared&sort=-address"
    response = root.get(url)
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = rows_of(response)
    listed = root.page(f"/organizations/{big.org_id}/mailboxes?kind=shared&per_page=200").text
    total = re.search(r"of (\d+)<", listed)
    assert total is not None and len(rows) == int(total.group(1))
    assert {r["kind"] for r in rows} == {"shared"}
    assert [r["primary_address"] for r in rows] == sorted(
        (r["primary_address"] for r in rows), reverse=True
    )
    assert all(r["billable"] == "no" for r in rows)
    evil = next(r for r in rows if "HYPERLINK" in r["display_name"])
    assert evil["display_name"].startswith("'=")


def test_removed_mailboxes_are_restored_in_bulk(
    big: BigOrg, db: Database, make_client: Any
) -> None:
    admin = make_client(Role.ADMIN)
    listing = admin.page(f"/organizations/{big.org_id}/mailboxes?removed=true&per_page=25")
    ids = re.findall(r'name="ids" value="(\d+)"', listing.text)
    assert len(ids) == big.removed == 12
    picked = ids[:3]
    response = admin.post(
        f"/organizations/{big.org_id}/mailboxes/restore",
        data={"csrf": admin.csrf, "ids": picked, "back": "?removed=true&per_page=25"},
    )
    assert response.status_code == 303
    assert response.headers["location"].endswith("?removed=true&per_page=25")
    assert "3 mailboxes restored" in admin.page(response.headers["location"]).text
    with db.session() as session:
        restored = session.scalars(select(Mailbox).where(Mailbox.id.in_(map(int, picked)))).all()
        assert all(m.deleted_at is None for m in restored)
        recorded = session.scalars(
            select(ChangeRecord).where(ChangeRecord.action == "restore")
        ).all()
        assert {c.key for c in recorded} == {m.primary_address for m in restored}
        assert {c.actor for c in recorded} == {"admin@example.com"}
    page = admin.page(f"/mailboxes/{picked[0]}")
    assert "restored by hand" not in page.text  # the reason is the plan's, the log says who
    assert re.search(r"restore mailbox</td>.*admin@example.com", page.text, re.S)

    reader = make_client(Role.READ_ONLY)
    removed_list = reader.page(f"/organizations/{big.org_id}/mailboxes?removed=true")
    assert 'name="ids"' not in removed_list.text
    refused = reader.post(
        f"/organizations/{big.org_id}/mailboxes/restore", data={"csrf": reader.csrf, "ids": ids[3]}
    )
    assert refused.status_code == 403
    forged = admin.post(f"/organizations/{big.org_id}/mailboxes/restore", data={"ids": ids[3]})
    assert forged.status_code in (400, 403)


def test_the_header_search_finds_people_in_every_organization(
    db: Database, make_client: Any
) -> None:
    seed_directory(db)
    with db.session() as session:
        for name in ("litware", "woodgrove"):
            org = make_org(session, name)
            session.add(
                Mailbox(
                    organization_id=org.id,
                    primary_address=f"jurgen.muller@{name}.example",
                    display_name="Jürgen Müller",
                    kind=MailboxKind.USER,
                )
            )
    reader = make_client(Role.READ_ONLY)
    assert 'action="/search"' in reader.page("/").text
    html = reader.page("/search", params={"q": "JURGEN MULLER"}).text
    assert html.count("jurgen.muller@") == 2
    assert ">litware</a>" in html and ">woodgrove</a>" in html
    helpdesk = reader.page("/search", params={"q": "hélpdesk"}).text
    assert "Helpdesk" in helpdesk and 'id="found-groups"' in helpdesk


def test_the_mailbox_page_shows_access_both_ways_to_super_administrators(
    db: Database, make_client: Any
) -> None:
    seeded = seed_directory(db)
    root = make_client(Role.SUPER_ADMIN)
    shared = root.page(f"/mailboxes/{seeded.shared_id}").text
    on_it = shared.partition('id="on-it"')[2].partition("</table>")[0]
    assert "adele@contoso.example" in on_it and "Full Access" in on_it
    assert f'href="/tasks/{seeded.task_id}"' in on_it
    assert f'href="/runs/{seeded.failed_run_id}"' in on_it
    assert "Helpdesk" in on_it
    adele = root.page(f"/mailboxes/{seeded.user_id}").text
    held = adele.partition('id="held"')[2].partition("</table>")[0]
    assert "info@contoso.example" in held and "Full Access" in held
    assert "av@contoso.example" in adele  # its other address

    admin = make_client(Role.ADMIN)
    page = admin.page(f"/mailboxes/{seeded.shared_id}").text
    assert "Only super administrators see delegate access." in page
    assert "adele@contoso.example" not in page


def test_a_mailbox_history_names_its_runs_and_shows_grants_to_super_administrators_only(
    db: Database, make_client: Any
) -> None:
    seeded = seed_directory(db)
    grant_key = "info@contoso.example | adele@contoso.example | full_access"
    with db.session() as session:
        changes = [
            Change("update", "mailbox", "av@contoso.example", "", {"display_name": "A"}, {}),
            Change("add", GRANT_ENTITY, grant_key, "granted in the source"),
            Change("add", "mailbox", "room1@contoso.example", "another mailbox"),
        ]
        record_changes(
            session,
            changes,
            run_id=seeded.failed_run_id,
            organization_id=seeded.org_id,
            actor="task",
        )
    root = make_client(Role.SUPER_ADMIN).page(f"/mailboxes/{seeded.user_id}").text
    history = root.partition('id="history-table"')[2].partition("</table>")[0]
    assert "av@contoso.example" in history and grant_key in history
    assert "room1@contoso.example" not in history
    assert f'href="/runs/{seeded.failed_run_id}"' in history and "nightly probe" in history
    admin = make_client(Role.ADMIN).page(f"/mailboxes/{seeded.user_id}").text
    theirs = admin.partition('id="history-table"')[2].partition("</table>")[0]
    assert "av@contoso.example" in theirs and grant_key not in theirs


def test_organizations_sort_and_export_with_their_mailbox_counts(
    big: BigOrg, db: Database, root: Any
) -> None:
    with db.session() as session:
        make_org(session, "adatum")
    page = root.page("/organizations?sort=-name").text
    names = re.findall(r'<a href="/organizations/\d+">([^<]+)</a>', page)
    assert names == ["fabrikam", "adatum"]
    rows = rows_of(root.get("/organizations.csv?sort=name"))
    assert [r["name"] for r in rows] == ["adatum", "fabrikam"]
    assert rows[1]["mailboxes"] == str(SIZE - big.removed) and int(rows[1]["billable"]) > 0


def test_a_list_search_counts_every_match_and_pages_through_them(big: BigOrg, root: Any) -> None:
    url = f"/organizations/{big.org_id}/mailboxes?q=MÜLLER&per_page=25"
    first = root.page(url).text
    found = re.search(r'id="range">1\N{EN DASH}(\d+) of (\d+)<', first)
    assert found is not None
    total = int(found.group(2))
    exported = rows_of(root.get(f"/organizations/{big.org_id}/mailboxes.csv?q=muller"))
    assert len(exported) == total > 0
    assert all("ller" in r["display_name"] + r["primary_address"] for r in exported)
    past = root.page(url + "&page=999").text
    assert f'id="range">none here of {total}<' in past and "No mailboxes match." in past


def test_a_group_lists_its_members_and_mailbox_pages_link_to_it(
    db: Database, make_client: Any
) -> None:
    seeded = seed_directory(db)
    reader = make_client(Role.READ_ONLY)
    groups = reader.page(f"/organizations/{seeded.org_id}/groups?q=help").text
    assert f'<a href="/groups/{seeded.group_id}">Helpdesk</a>' in groups
    page = reader.page(f"/groups/{seeded.group_id}").text
    members = page.partition('id="group-members"')[2].partition("</table>")[0]
    assert "adele@contoso.example" in members and "info@contoso.example" not in members
    assert f'href="/groups/{seeded.group_id}"' in reader.page(f"/mailboxes/{seeded.user_id}").text
    root = make_client(Role.SUPER_ADMIN).page(f"/mailboxes/{seeded.shared_id}").text
    on_it = root.partition('id="on-it"')[2].partition("</table>")[0]
    assert f'<a href="/groups/{seeded.group_id}">Helpdesk</a>' in on_it


def test_a_removed_mailbox_is_restored_from_its_page(db: Database, make_client: Any) -> None:
    seeded = seed_directory(db)
    reader = make_client(Role.READ_ONLY)
    page = reader.page(f"/mailboxes/{seeded.removed_id}").text
    assert 'id="removed"' in page and "Restore this mailbox" not in page
    refused = reader.submit(f"/mailboxes/{seeded.removed_id}/restore")
    assert refused.status_code == 403
    admin = make_client(Role.ADMIN)
    assert "Restore this mailbox" in admin.page(f"/mailboxes/{seeded.removed_id}").text
    restored = admin.submit(f"/mailboxes/{seeded.removed_id}/restore")
    assert restored.status_code == 303
    after = admin.page(f"/mailboxes/{seeded.removed_id}").text
    assert "gone@contoso.example restored" in after and 'id="removed"' not in after
    again = admin.submit(f"/mailboxes/{seeded.removed_id}/restore")
    assert again.status_code == 422 and "is not removed" in again.text


def test_the_api_sorts_the_mailbox_list_as_the_page_does(big: BigOrg, api: Any) -> None:
    client = api(Role.READ_ONLY)
    url = f"/api/v1/organizations/{big.org_id}/mailboxes"
    answer = client.get(url, params={"sort": "-last_seen", "per_page": 100, "page": 2}).json()
    assert answer["total"] == SIZE - big.removed and len(answer["items"]) == 100
    seen = [m["last_seen"] for m in answer["items"]]
    assert seen == sorted(seen, reverse=True)
    by_kind = client.get(url, params={"sort": "kind", "per_page": 200}).json()["items"]
    assert [m["kind"] for m in by_kind] == sorted(m["kind"] for m in by_kind)
