"""The cross-premises report and the batches as runs: exported files (hand-written, in
every format) for the on-premises side, the store for the cloud side."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tenantsync.config.export import export_organization
from tenantsync.engine.connection_check import check_stored_connection
from tenantsync.engine.permission_sync.state import MailboxRead, ReadState, save_state
from tenantsync.model.permissions import AclEntry, Right, Trustee
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Location, Mailbox, MailboxKind, Organization
from tests.integration.hybrid.harness import Hybrid, grant_rows
from tests.support.factory import make_task

FIXTURES = Path(__file__).parents[2] / "fixtures" / "exported"


def by_key(report: dict) -> dict[tuple[str, str, str], dict]:
    return {(g["mailbox"], g["trustee"], g["right"]): g for g in grant_rows(report)}


def test_every_grant_is_placed_and_judged_with_its_reason(db: Database, settings: Settings) -> None:
    hybrid = Hybrid(db, settings, folder=FIXTURES).setup()
    run = hybrid.run(hybrid.task("report", "hybrid_report"))
    assert run.status == "succeeded", run.error
    report = run.report
    assert report is not None
    grants = by_key(report)
    onprem_fa = grants[("info@contoso.com", "lee@contoso.com", "full_access")]
    assert onprem_fa["direction"] == "cloud→on_premises"
    assert (onprem_fa["category"], onprem_fa["reason"]) == ("broken", "full_access_no_acl")
    assert (
        grants[("info@contoso.com", "adele@contoso.com", "full_access")]["category"] == "same_side"
    )
    folder = grants[("adele@contoso.com", "lee@contoso.com", "folder")]
    assert (folder["category"], folder["role"]) == ("broken", "Editor")
    # Free/busy is no folder permission; Default is nobody.
    assert ("adele@contoso.com", "grady@contoso.com", "folder") in grants
    send_as = grants[("lee@contoso.com", "adele@contoso.com", "send_as")]
    assert (send_as["category"], send_as["granted_on"]) == ("manual", "cloud")
    pair = next(c for c in report["send_as_commands"] if c["mailbox"] == "lee@contoso.com")
    assert pair["on_premises_needed"] and not pair["cloud_needed"]
    assert pair["on_premises"] == (
        "Add-ADPermission -Identity 'lee@contoso.com' -User 'adele@contoso.com' "
        "-AccessRights ExtendedRight -ExtendedRights 'Send As'"
    )
    assert report["counts"]["mailboxes"] == {"cloud": 2, "on_premises": 4}
    assert report["counts"]["migrated"] == 2
    unmet = [p["name"] for p in report["prerequisites"] if p["met"] is False]
    assert unmet == ["ACLable object synchronization"]
    assert run.counts["grants"] == len(report["grants"])
    assert "grants_broken" in run.counts


def test_the_cloud_side_comes_from_what_the_syncs_stored(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "files"
    shutil.copytree(FIXTURES / "onprem", folder / "onprem")
    hybrid = Hybrid(db, settings, folder=folder).setup()
    with db.session() as s:
        org = s.get_one(Organization, hybrid.organization_id)
        lee = Mailbox(
            organization_id=org.id,
            primary_address="lee@contoso.com",
            kind=MailboxKind.USER,
            location=Location.CLOUD,
            recipient_type="UserMailbox",
        )
        s.add(lee)
        s.flush()
        sync = make_task(s, org, "permissions", type_="mailbox_permission_sync")
        # Permission sync read Lee's mailbox: Send As for Adele, whose mailbox is
        # on-premises (a MailUser in the cloud, so the store could not resolve her).
        entries = (
            AclEntry(
                "lee@contoso.com",
                Trustee("adele@contoso.com", upn="adele@contoso.com"),
                Right.SEND_AS,
            ),
        )
        save_state(s, sync.id, ReadState(mailboxes={lee.id: MailboxRead("stamp", entries)}))
    run = hybrid.run(hybrid.task("report", "hybrid_report"))
    assert run.status == "succeeded", run.error
    grant = by_key(run.report)[("lee@contoso.com", "adele@contoso.com", "send_as")]
    assert (grant["category"], grant["granted_on"]) == ("manual", "cloud")
    assert run.report["sources"]["store"] == {
        "mailboxes": 1,
        "permission_sync_tasks": ["permissions"],
    }


def test_a_bad_file_fails_the_run_naming_it_and_nothing_is_reported(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "files"
    shutil.copytree(FIXTURES, folder)
    (folder / "onprem" / "broken.csv").write_text('"Identity","User","AccessRights"\n"a","b"\n')
    hybrid = Hybrid(db, settings, folder=folder).setup()
    run = hybrid.run(hybrid.task("report", "hybrid_report"))
    assert run.status == "failed"
    assert run.error is not None
    assert "onprem/broken.csv, line 2, column 5: 3 fields as the header has, found 2" in run.error
    assert run.report is None


def test_batches_keep_permission_holders_together(db: Database, settings: Settings) -> None:
    hybrid = Hybrid(db, settings, folder=FIXTURES).setup()
    run = hybrid.run(hybrid.task("batches", "migration_batches", max_batch_size=3))
    assert run.status == "succeeded", run.error
    report = run.report
    assert report is not None
    names = [m[0] for m in report["mailboxes"]]
    moved = sorted(names[p] for b in report["batches"] for p in b["members"])
    assert moved == [
        "adele@contoso.com",
        "board@contoso.com",
        "grady@contoso.com",
        "info@contoso.com",
    ]
    assert max(b["size"] for b in report["batches"]) <= 3
    assert run.counts["mailboxes_migrated"] == 2


def test_the_kind_is_checked_and_exported_like_any_other(db: Database, settings: Settings) -> None:
    hybrid = Hybrid(db, settings, folder=FIXTURES).setup()
    lines = check_stored_connection(db, settings, hybrid.connection_id)
    assert [line.ok for line in lines] == [True, True]
    assert "10 files" in lines[0].detail
    assert "onprem/ad-permissions.xml: Get-ADPermission (clixml, 3 objects" in lines[1].detail
    with db.session() as session:
        exported = yaml.safe_load(export_organization(session, "contoso"))
    entry = exported["organizations"][0]["connections"][0]
    assert entry == {"name": "exported", "kind": "exported_files", "folder": str(FIXTURES)}
