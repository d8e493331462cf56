"""Delegate access is for super administrators only, everywhere: after a mailbox permission
sync stored grants and the audit log recorded delegate actions, every GET route of the API
(taken from the app's route table, so a new route is covered at once) and every page linked
from the console is scanned for grant data. Read-only and administrator accounts find none,
yet still see the runs' status and counts; a super administrator finds it (so the scan can
find something)."""

from __future__ import annotations

import html
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from tenantsync.sandbox import SandboxTenant, generate_tenant
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import (
    ApiToken,
    Connection,
    ConsoleAccount,
    Definition,
    DelegateGrant,
    Domain,
    Mailbox,
    Organization,
    Right,
    Role,
    Run,
    Schedule,
    ScheduledTask,
)
from tests.integration.permission_sync.harness import Harness
from tests.support.console import routes_of

RIGHTS = tuple(r.value for r in Right)
NEAR = 200  # characters: a delegate's address this close to a right name is a grant row
HIDDEN = "grant details are visible to super administrators"
# Which rows a path parameter names; a GET route with any other parameter fails the test.
PARAMETERS: dict[str, Any] = {
    "org_id": Organization,
    "mailbox_id": Mailbox,
    "run_id": Run,
    "connection_id": Connection,
    "task_id": ScheduledTask,
    "definition_id": Definition,
    "schedule_id": Schedule,
    "account_id": ConsoleAccount,
    "grant_id": DelegateGrant,
    "domain_id": Domain,
    "token_id": ApiToken,
}
MAX_PAGES = 3000


@dataclass
class Grants:
    """What counts as grant data in this store, and the runs that carry it."""

    keys: set[str]  # "mailbox | delegate | right", as plans and change logs name grants
    delegates: set[str]  # addresses of delegates holding a grant
    trustees: set[str]  # "trustee on mailbox", as permission sync warnings name them
    run_ids: list[int] = field(default_factory=list)
    grants_added: int = 0
    unread_run_id: int = 0
    unread_mailbox: str = ""

    def found_in(self, text: str) -> list[str]:
        """What of the grant data ``text`` shows."""
        found = [k for k in self.keys | self.trustees if k in text]
        for delegate in self.delegates:
            for at in (m.start() for m in re.finditer(re.escape(delegate), text)):
                window = text[max(0, at - NEAR) : at + len(delegate) + NEAR]
                found.extend(f"{delegate} near {r}" for r in RIGHTS if r in window)
        return found


@pytest.fixture
def tenant() -> SandboxTenant:
    return generate_tenant(30, seed=5)


@pytest.fixture
def grants(db: Database, settings: Settings, tenant: SandboxTenant, api: Any) -> Grants:
    """A permission sync previewed, applied, and run again when one mailbox could not be
    read; and a manual grant added and one added and removed, by a super administrator."""
    harness = Harness(db, settings, tenant).setup()
    task = harness.task("perms", send_as=True, send_on_behalf=True, full_reconciliation_hours=0)
    preview = harness.run(task, preview=True)
    applied = harness.run(task)
    assert applied.status == "succeeded", applied.error
    assert applied.counts["grants_added"] > 0 and applied.warnings()
    rows = harness.grant_rows()
    holders = {d for _, d, _, _ in rows}
    gone = next(u for u in tenant.users.values() if u.mail and u.mail.lower() in holders)
    unread_mailbox = harness.address(gone.id)
    tenant.remove_user(gone.id)  # Exchange no longer finds it; grants it held become orphans
    unread = harness.run(task)
    assert unread.status == "warning" and unread.counts["grants_removed"] > 0
    rows += harness.grant_rows()  # the grants of before and after the last run
    root = api(Role.SUPER_ADMIN)
    with db.session() as session:
        ids = dict(session.execute(select(Mailbox.primary_address, Mailbox.id)).all())
    mailbox, delegate, _, _ = rows[0]
    kept = root.post(
        f"/api/v1/mailboxes/{ids[mailbox]}/delegates",
        json={"delegate": delegate, "right": "send_on_behalf"},
    )
    assert kept.status_code == 201, kept.text
    removed = root.post(
        f"/api/v1/mailboxes/{ids[delegate]}/delegates",
        json={"delegate": mailbox, "right": "send_as"},
    )
    assert removed.status_code == 201, removed.text
    assert root.delete(f"/api/v1/delegate-grants/{removed.json()['id']}").status_code == 204
    trustees = set()
    for message in applied.messages + unread.messages:
        examples = re.search(r"\(e\.g\. (.*)\)$", message["text"])
        if examples:
            trustees.update(examples.group(1).split("; "))
    assert trustees
    return Grants(
        keys={f"{m} | {d} | {r}" for m, d, r, _ in rows}
        | {f"{delegate} | {mailbox} | send_as", f"{mailbox} | {delegate} | send_on_behalf"},
        delegates={d for _, d, _, _ in rows} | {mailbox},
        trustees=trustees,
        run_ids=[preview.id, applied.id, unread.id],
        grants_added=applied.counts["grants_added"],
        unread_run_id=unread.id,
        unread_mailbox=unread_mailbox,
    )


def readable(response: httpx.Response) -> str:
    """The answer as a person reads it: JSON strings as they are, HTML unescaped."""
    if response.headers.get("content-type", "").startswith("application/json"):
        strings: list[str] = []

        def walk(value: Any) -> None:
            if isinstance(value, dict):
                for key, item in value.items():
                    strings.append(str(key))
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)
            else:
                strings.append(str(value))

        walk(response.json())
        return "\n".join(strings)
    return html.unescape(response.text)


def api_urls(app: FastAPI, db: Database) -> list[str]:
    """Every GET route of the API with every id its parameters can name."""
    urls = []
    with db.session() as session:
        for method, path in routes_of(app):
            if method != "GET" or not path.startswith("/api/"):
                continue
            names = re.findall(r"\{([^}]+)\}", path)
            unknown = [n for n in names if n not in PARAMETERS]
            assert not unknown, f"{path}: say which rows {unknown} name in PARAMETERS"
            filled = [path]
            for name in names:
                ids = session.scalars(select(PARAMETERS[name].id)).all()
                filled = [u.replace(f"{{{name}}}", str(i)) for u in filled for i in ids]
            urls.extend(filled)
    return urls


def scan_api(client: Any, urls: list[str], grants: Grants) -> dict[str, list[str]]:
    """Grant data in the API's answers (every page of a list), by URL."""
    found: dict[str, list[str]] = {}
    for url in urls:
        page = 1
        while True:
            response = client.get(url, params={"per_page": 200, "page": page})
            assert response.status_code < 500, (url, response.text)
            hits = grants.found_in(readable(response))
            if hits:
                found[f"{url}?page={page}"] = hits
            json_answer = response.headers.get("content-type", "").startswith("application/json")
            body = response.json() if response.status_code == 200 and json_answer else None
            if not (isinstance(body, dict) and "total" in body and "per_page" in body):
                break
            if page * body["per_page"] >= body["total"]:
                break
            page += 1
    return found


LINK = re.compile(r'href="(/[^"]*)"')


def crawl(client: Any, grants: Grants) -> tuple[dict[str, list[str]], set[str]]:
    """Grant data on every page reachable by links from the dashboard, by URL; and the
    URLs visited."""
    found: dict[str, list[str]] = {}
    seen = {"/"}
    todo = deque(["/"])
    while todo:
        url = todo.popleft()
        response = client.get(url)
        assert response.status_code < 500, (url, response.text)
        text = readable(response)
        hits = grants.found_in(text)
        if hits:
            found[url] = hits
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        for link in LINK.findall(response.text):
            target = urldefrag(html.unescape(link))[0]
            if target.startswith(("//", "/static/")) or target in seen:
                continue
            seen.add(target)
            todo.append(target)
        assert len(seen) < MAX_PAGES, "the crawl does not end"
    return found, seen


@pytest.mark.parametrize("role", [Role.READ_ONLY, Role.ADMIN])
def test_other_roles_find_no_grant_data_in_any_answer_or_page(
    app: FastAPI, db: Database, api: Any, make_client: Any, grants: Grants, role: Role
) -> None:
    client = api(role)
    found = scan_api(client, api_urls(app, db), grants)
    assert found == {}, sorted(found)
    browser = make_client(role)
    found, visited = crawl(browser, grants)
    assert found == {}, sorted(found)
    for run_id in grants.run_ids:
        assert f"/runs/{run_id}" in visited
    assert "/audit" in visited and any(u.startswith("/mailboxes/") for u in visited)

    # The runs' status and counts stay visible, and the pages say what was left out.
    applied = client.get(f"/api/v1/runs/{grants.run_ids[1]}").json()
    assert applied["status"] == "succeeded"
    assert applied["counts"]["grants_added"] == grants.grants_added
    plan = {g["action"]: g for g in applied["plan"]}
    assert plan["add"]["count"] == grants.grants_added and plan["add"]["changes"] == []
    assert HIDDEN in browser.page(f"/runs/{grants.run_ids[1]}").text
    assert HIDDEN in browser.page("/audit").text
    # A notice that names no grant, only the mailboxes that could not be read, stays.
    unread = client.get(f"/api/v1/runs/{grants.unread_run_id}").json()
    assert unread["status"] == "warning" and unread["grant_details_hidden"]
    (notice,) = [m for m in unread["messages"] if "could not be read" in m["text"]]
    assert notice["mailboxes"] == [grants.unread_mailbox]
    assert grants.unread_mailbox in browser.page(f"/runs/{grants.unread_run_id}").text
    changes = client.get(f"/api/v1/runs/{grants.unread_run_id}/changes").json()
    made = sum(unread["counts"][f"grants_{verb}"] for verb in ("added", "removed", "updated"))
    assert changes["items"] == [] and changes["hidden"] == made


def test_a_super_administrator_finds_the_grant_data_the_others_do_not(
    app: FastAPI, db: Database, api: Any, root: Any, grants: Grants
) -> None:
    found = scan_api(api(Role.SUPER_ADMIN), api_urls(app, db), grants)
    for run_id in grants.run_ids:
        assert f"/api/v1/runs/{run_id}?page=1" in found
    assert f"/api/v1/runs/{grants.run_ids[1]}/changes?page=1" in found
    assert "/api/v1/audit?page=1" in found
    assert any("/delegates?" in url or "/delegations?" in url for url in found)
    pages, _ = crawl(root, grants)
    for run_id in grants.run_ids:
        assert f"/runs/{run_id}" in pages
    assert "/audit" in pages
    assert any(url.endswith("/delegates") for url in pages)
    assert HIDDEN not in root.page(f"/runs/{grants.run_ids[1]}").text
