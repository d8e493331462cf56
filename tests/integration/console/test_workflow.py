"""An administrator's day in the console: definitions with their type's options, schedules,
tasks, preview, apply, a run stopped at the deletion threshold, the dashboard, the directory
and delegate access — through the pages, with a worker executing the queued runs."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import (
    AuditEntry,
    ChangeRecord,
    Definition,
    DelegateGrant,
    Role,
    Run,
    RunStatus,
    Schedule,
    ScheduledTask,
    Trigger,
)
from tenantsync.worker import queue
from tenantsync.worker.runner import Worker
from tests.support.console import Seeded, console_registry, seed_directory


@pytest.fixture
def seeded(db: Database) -> Seeded:
    return seed_directory(db)


@pytest.fixture
def work(db: Database, settings: Settings) -> Any:
    """Execute one queued run, as `tenantsync serve` would in the background."""
    worker = Worker(db, settings, console_registry(), name="test-worker")

    def step(run_id: int) -> Run:
        assert worker.step(run_id)
        with db.session() as session:
            run = session.get(Run, run_id)
            assert run is not None
            session.expunge(run)
            return run

    return step


def run_id_of(response: Any) -> int:
    found = re.fullmatch(r"/runs/(\d+)", response.headers["location"])
    assert found, response.headers.get("location")
    return int(found.group(1))


def make_definition(client: Any, db: Database, org_id: int, name: str, **options: str) -> int:
    form = {"type": "probe", "name": name, **{f"opt.{k}": v for k, v in options.items()}}
    assert client.submit(f"/organizations/{org_id}/definitions/new", form).status_code == 303
    with db.session() as session:
        return session.scalar(select(Definition.id).where(Definition.name == name)) or 0


def test_a_definition_form_comes_from_its_type_and_shows_errors_next_to_fields(
    root: Any, seeded: Seeded
) -> None:
    org = seeded.org_id
    chooser = root.page(f"/organizations/{org}/definitions/new")
    assert 'value="probe"' in chooser.text and 'value="housekeeping"' in chooser.text
    form = root.page(f"/organizations/{org}/definitions/new?type=probe")
    for name in ("opt.additions", "opt.removals", "opt.threshold", "opt.mode", "opt.fail_with"):
        assert f'name="{name}"' in form.text
    assert '<option value="thorough"' in form.text  # a Literal becomes a choice
    bad = root.submit(
        f"/organizations/{org}/definitions/new",
        {"type": "probe", "name": "", "opt.additions": "-3", "opt.threshold": "many"},
    )
    assert bad.status_code == 422
    assert re.search(r'id="err-additions">[^<]*greater than or equal to 0', bad.text)
    assert re.search(r'id="err-threshold">[^<]*integer', bad.text)
    assert 'id="err-name"' in bad.text
    nested = root.submit(
        f"/organizations/{org}/definitions/new",
        {"type": "probe", "name": "n", "opt.weights": '{"shared": "heavy"}'},
    )
    assert re.search(r'id="err-weights">shared: [^<]*integer', nested.text)
    whole = root.submit(
        f"/organizations/{org}/definitions/new",
        {"type": "probe", "name": "n", "opt.removals": "400"},
    )
    assert re.search(r'class="error">[^<]*quick probe removes at most 300', whole.text)
    good = root.submit(
        f"/organizations/{org}/definitions/new",
        {"type": "probe", "name": "weekly", "opt.additions": "3", "opt.mode": "thorough"},
    )
    assert good.status_code == 303


def test_schedule_and_task_forms_check_what_is_typed(
    root: Any, seeded: Seeded, db: Database
) -> None:
    org = seeded.org_id
    definition = make_definition(root, db, org, "weekly")
    bad = root.submit(f"/organizations/{org}/schedules/new", {"name": "nightly", "cron": "61 * *"})
    assert bad.status_code == 422 and 'class="error"' in bad.text
    ok = root.submit(
        f"/organizations/{org}/schedules/new",
        {"name": "nightly", "cron": "0 2 * * *", "timezone": "Europe/Amsterdam"},
    )
    assert ok.status_code == 303
    with db.session() as session:
        schedule = session.scalar(select(Schedule.id).where(Schedule.name == "nightly"))
    task_form = root.page(f"/organizations/{org}/tasks/new")
    assert (
        ">Helpdesk (helpdesk@contoso.example)<" in task_form.text
    )  # scope offered from the synced groups
    fields = {
        "name": "helpdesk sync",
        "definition_id": str(definition),
        "schedule_id": str(schedule),
        "scope_kind": "group",
        "scope_group": "No Such Group",
        "enabled": "on",
    }
    refused = root.submit(f"/organizations/{org}/tasks/new", fields)
    assert refused.status_code == 422 and "no synced group named" in refused.text
    created = root.submit(f"/organizations/{org}/tasks/new", {**fields, "scope_group": "Helpdesk"})
    assert created.status_code == 303
    task = root.page(created.headers["location"])
    assert "group: Helpdesk" in task.text and "nightly" in task.text
    task_id = created.headers["location"].rsplit("/", 1)[1]
    root.submit(f"/tasks/{task_id}/enable", {"enabled": "false"})
    with db.session() as session:
        stored = session.get(ScheduledTask, int(task_id))
        assert stored is not None and not stored.enabled and stored.scope_value == "Helpdesk"
    dn = {**fields, "scope_kind": "dn", "scope_dn": "OU=Staff,DC=contoso,DC=example"}
    assert root.submit(f"/tasks/{task_id}/edit", dn).status_code == 303


def test_preview_shows_the_plan_by_action_and_apply_runs_it(
    root: Any, seeded: Seeded, db: Database, work: Any
) -> None:
    org = seeded.org_id
    definition = make_definition(root, db, org, "adds", additions="3", removals="2")
    created = root.submit(
        f"/organizations/{org}/tasks/new",
        {"name": "adder", "definition_id": str(definition), "scope_kind": "all", "enabled": "on"},
    )
    task_url = created.headers["location"]
    preview_id = run_id_of(root.submit(f"{task_url}/run", {"preview": "true"}))
    waiting = root.page(f"/runs/{preview_id}").text
    assert f'data-run-progress="{preview_id}"' in waiting and "run-progress.js" in waiting
    assert work(preview_id).status is RunStatus.SUCCEEDED
    page = root.page(f"/runs/{preview_id}")
    assert "2 mailboxes to remove, 3 mailboxes to add" in page.text
    assert 'aria-current="page" class="current">Plan (5)' in page.text  # a preview opens on it
    assert "new2@contoso.example" in page.text and "Apply" in page.text
    only = root.page(f"/runs/{preview_id}?tab=plan&action=remove").text
    assert "1\N{EN DASH}2 of 2" in only and "old1@" in only and "new2@" not in only
    with db.session() as session:
        assert session.scalar(select(ChangeRecord.id)) is None  # a preview changes nothing
    applied = run_id_of(root.submit(f"/runs/{preview_id}/apply"))
    assert work(applied).status is RunStatus.SUCCEEDED
    log = root.page(f"/runs/{applied}")
    assert "2 mailboxes removed, 3 mailboxes added" in log.text
    assert 'class="current">Changes' in log.text and "old1@contoso.example" in log.text
    runs = root.page("/runs?status=succeeded&trigger=preview")
    assert f"#{preview_id}" in runs.text and f"#{applied}<" not in runs.text


def test_a_run_stopped_at_the_threshold_waits_for_a_super_administrator(
    root: Any, make_client: Any, seeded: Seeded, db: Database, work: Any
) -> None:
    org = seeded.org_id
    definition = make_definition(root, db, org, "big removal", removals="120", threshold="10")
    created = root.submit(
        f"/organizations/{org}/tasks/new",
        {"name": "remover", "definition_id": str(definition), "scope_kind": "all"},
    )
    stopped = run_id_of(root.submit(f"{created.headers['location']}/run"))
    assert work(stopped).status is RunStatus.AWAITING_CONFIRMATION
    page = root.page(f"/runs/{stopped}")
    assert "Stopped at the deletion threshold" in page.text
    assert "<strong>120</strong> removals: 120 mailboxes" in page.text
    assert "1\N{EN DASH}50 of 120" in page.text and "Confirm the removals" in page.text
    named = root.page(f"/runs/{stopped}?tab=removals&address=OLD119").text
    assert "old119@contoso.example" in named and "1\N{EN DASH}1 of 1" in named
    admin = make_client(Role.ADMIN)
    admin_view = admin.page(f"/runs/{stopped}")
    assert "Only a super administrator" in admin_view.text
    assert admin.submit(f"/runs/{stopped}/confirm", {"count": "120"}).status_code == 403
    wrong = root.submit(f"/runs/{stopped}/confirm", {"count": "12"})
    assert wrong.status_code == 422 and "type the number of removals, 120" in wrong.text
    confirmed = run_id_of(root.submit(f"/runs/{stopped}/confirm", {"count": "120"}))
    assert work(confirmed).status is RunStatus.SUCCEEDED
    again = root.submit(f"/runs/{stopped}/confirm", {"count": "120"})
    assert again.status_code == 422  # only once
    first = root.page(f"/runs/{confirmed}")
    assert "1\N{EN DASH}50 of 122" in first.text  # the change log is paged
    log = root.page(f"/runs/{confirmed}?page=3").text.split('class="changes sortable"')[1]
    assert "old119@contoso.example" in log and "old0@" not in log


def test_the_dashboard_shows_failures_and_mailbox_counts(make_client: Any, seeded: Seeded) -> None:
    reader = make_client(Role.READ_ONLY)
    page = reader.page("/")
    assert "1 task failed on the last run" in page.text
    assert "tenant unreachable: 503 from graph" in page.text
    row = re.search(r'<tr class="row-failed">.*?</tr>', page.text, re.S)
    assert row and "nightly probe" in row.group(0)
    found = re.findall(r"<strong>(\d+)</strong><span>([\w-]+)</span>", page.text)
    cards = {label: int(n) for n, label in found}
    assert cards["mailboxes"] == 3 and cards["billable"] == 1 and cards["non-billable"] == 2
    assert cards["shared"] == 1 and cards["room"] == 1


def test_mailboxes_are_found_by_search_and_filters(make_client: Any, seeded: Seeded) -> None:
    reader = make_client(Role.READ_ONLY)
    base = f"/organizations/{seeded.org_id}/mailboxes"

    def listed(query: str) -> set[str]:
        return set(re.findall(r'href="/mailboxes/\d+">([^<]+)<', reader.page(base + query).text))

    assert listed("") == {"adele@contoso.example", "info@contoso.example", "room1@contoso.example"}
    assert listed("?q=adele") == {"adele@contoso.example"}
    assert listed("?q=info+desk") == {"info@contoso.example"}
    assert listed("?kind=shared") == {"info@contoso.example"}
    assert listed("?billable=no") == {"info@contoso.example", "room1@contoso.example"}
    assert listed("?removed=true") == {"gone@contoso.example"}
    # A filter form sends its empty fields too: they mean "any".
    assert len(listed("?q=&kind=&billable=&policy_group_id=")) == 3
    runs = reader.page("/runs?organization_id=&task_id=&status=&trigger=")
    assert runs.status_code == 200 and "tenant unreachable" in runs.text
    shared = reader.page(f"/mailboxes/{seeded.shared_id}")
    assert "no — shared mailbox" in shared.text


def test_delegate_access_shows_its_source_to_super_administrators_only(
    root: Any, make_client: Any, seeded: Seeded, db: Database
) -> None:
    url = f"/mailboxes/{seeded.shared_id}/delegates"
    page = root.page(url)
    row = re.search(r"<tr><td><a href=\"/mailboxes/\d+\">adele@.*?</tr>", page.text, re.S)
    assert row is not None
    assert "full_access" in row.group(0) and "task nightly probe" in row.group(0)
    assert "Helpdesk" in row.group(0)  # via group
    for role in (Role.ADMIN, Role.READ_ONLY):
        other = make_client(role)
        assert other.page(url).status_code == 403
        assert "Only super administrators" in other.page(f"/mailboxes/{seeded.shared_id}").text
    added = root.submit(url, {"delegate": "room1@contoso.example", "right": "send_as"})
    assert added.status_code == 303
    with db.session() as session:
        grant = session.scalars(select(DelegateGrant).where(DelegateGrant.origin == "manual")).one()
        assert grant.granted_by == "root@example.com"
        grant_id = grant.id
    assert "manual, by root@example.com" in root.page(url).text
    refused = root.submit(url, {"delegate": "nobody@contoso.example", "right": "send_as"})
    assert refused.status_code == 422
    assert root.submit(f"/delegate-grants/{seeded.grant_id}/remove").status_code >= 400
    assert root.submit(f"/delegate-grants/{grant_id}/remove").status_code == 303
    audit = root.page("/audit").text
    assert "delegate.grant" in audit and "delegate.revoke" in audit


def test_a_full_preview_asks_the_run_to_read_everything_from_the_source(
    root: Any, api: Any, seeded: Seeded, db: Database, work: Any
) -> None:
    org = seeded.org_id
    definition = make_definition(root, db, org, "adds", additions="1")
    created = root.submit(
        f"/organizations/{org}/tasks/new",
        {"name": "adder", "definition_id": str(definition), "scope_kind": "all"},
    )
    task_url = created.headers["location"]
    assert 'value="Full preview"' in root.page(task_url).text
    full = root.submit(f"{task_url}/run", {"preview": "true", "full": "true"})
    queued_page = root.page(full.headers["location"]).text
    assert "Full preview" in queued_page and "asked for a full read of the source" in queued_page
    ran = work(run_id_of(full))
    assert ran.trigger.value == "preview" and ran.counts["read"] == "full"
    plain = work(run_id_of(root.submit(f"{task_url}/run", {"preview": "true"})))
    assert plain.counts["read"] == "delta"
    task_id = int(task_url.rsplit("/", 1)[1])
    queued = api(Role.ADMIN).post(f"/api/v1/tasks/{task_id}/preview?full=true")
    assert queued.status_code == 202
    assert work(queued.json()["id"]).counts["read"] == "full"
    queued = api(Role.ADMIN).post(f"/api/v1/tasks/{task_id}/preview")
    assert work(queued.json()["id"]).counts["read"] == "delta"


def test_a_stop_that_a_later_run_applied_past_is_not_offered_for_confirmation(
    root: Any, seeded: Seeded, db: Database, work: Any
) -> None:
    org = seeded.org_id
    definition = make_definition(root, db, org, "big removal", removals="120", threshold="10")
    created = root.submit(
        f"/organizations/{org}/tasks/new",
        {"name": "remover", "definition_id": str(definition), "scope_kind": "all"},
    )
    stopped = run_id_of(root.submit(f"{created.headers['location']}/run"))
    assert work(stopped).status is RunStatus.AWAITING_CONFIRMATION
    assert "Confirm the removals" in root.page(f"/runs/{stopped}").text
    with db.session() as session:  # what `users sync --confirm-removals` queues
        task = session.scalars(select(ScheduledTask).where(ScheduledTask.name == "remover")).one()
        forced = queue.enqueue(
            session, task, Trigger.MANUAL, requested_by="cli", confirm_removals=True
        ).id
    assert work(forced).status is RunStatus.SUCCEEDED
    page = root.page(f"/runs/{stopped}").text
    assert "Confirm the removals" not in page
    assert f"superseded by run {forced}" in page
    assert root.submit(f"/runs/{stopped}/confirm", {"count": "120"}).status_code == 422


def test_a_definition_update_is_audited_with_the_fields_it_changed(
    root: Any, api: Any, seeded: Seeded, db: Database
) -> None:
    definition = make_definition(root, db, seeded.org_id, "adds", additions="3")
    form = {"type": "probe", "name": "adds", "opt.additions": "5", "opt.mode": "thorough"}
    assert root.submit(f"/definitions/{definition}", form).status_code == 303
    body = {"name": "weekly adds", "type": "probe", "options": {"additions": 5}}
    assert api(Role.ADMIN).put(f"/api/v1/definitions/{definition}", json=body).status_code == 200
    with db.session() as session:
        updates = session.scalars(
            select(AuditEntry.detail)
            .where(AuditEntry.action == "definition.update")
            .order_by(AuditEntry.id)
        ).all()
    assert updates[0]["changes"] == [
        {"field": "options.additions", "before": 3, "after": 5},
        {"field": "options.mode", "before": "quick", "after": "thorough"},
    ]
    assert updates[1]["changes"] == [
        {"field": "name", "before": "adds", "after": "weekly adds"},
        {"field": "options.mode", "before": "thorough", "after": "quick"},
    ]
    assert "options.additions" in root.page("/audit").text
