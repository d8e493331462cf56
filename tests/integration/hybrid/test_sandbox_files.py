"""The sandbox's hybrid organizations and the files it exports: every format reads back to
the same inventory, and the report places and judges what the organization holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantsync.connectors.exported.reader import read_folders
from tenantsync.model.hybrid import Inventory, Side
from tenantsync.sandbox import generate_tenant
from tenantsync.sandbox.exported_files import FORMATS, export_files
from tenantsync.sandbox.hybrid import make_hybrid
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tests.integration.hybrid.harness import Hybrid, grant_rows


def digest(inventory: Inventory) -> dict[str, object]:
    """What an inventory says, independent of the format it came in."""
    out: dict[str, object] = {}
    for side in Side:
        part = inventory.side(side)
        out[f"{side}:recipients"] = sorted((r.address, r.recipient_type) for r in part.recipients)
        out[f"{side}:entries"] = sorted(
            (e.mailbox, e.trustee.name, e.right.value, e.deny, e.inherited) for e in part.entries
        )
        out[f"{side}:folders"] = sorted(
            (f.mailbox, f.trustee, f.role, f.flags) for f in part.folders
        )
    out["servers"] = inventory.servers
    out["aclable"] = inventory.aclable_sync
    return out


def test_every_format_reads_back_the_same(tmp_path: Path) -> None:
    tenant = generate_tenant(40, seed=3)
    state = make_hybrid(tenant, seed=3, aclable_sync=False)
    digests = []
    for fmt in FORMATS:
        export_files(tenant, state, tmp_path / fmt, fmt=fmt)
        digests.append(digest(read_folders([tmp_path / fmt], None)))
    assert all(d == digests[0] for d in digests[1:])
    first = digests[0]
    assert first["aclable"] is False
    assert len(first["on_premises:recipients"]) == 40 - sum(  # type: ignore[arg-type]
        1 for u in tenant.users.values() if u.mailbox == "scheduling"
    )


@pytest.fixture
def organization(tmp_path: Path) -> tuple[Path, object, object]:
    tenant = generate_tenant(60, seed=8)
    state = make_hybrid(tenant, seed=8, service_accounts=1)
    export_files(tenant, state, tmp_path / "files")
    return tmp_path / "files", tenant, state


def test_the_report_over_a_sandbox_organization(
    db: Database, settings: Settings, organization: tuple[Path, object, object]
) -> None:
    folder, tenant, state = organization
    hybrid = Hybrid(db, settings, folder=folder).setup()
    run = hybrid.run(hybrid.task("report", "hybrid_report", read_store=False))
    assert run.status in ("succeeded", "warning"), run.error
    report = run.report
    assert report is not None
    places = {m[0]: m[1] for m in report["mailboxes"]}
    for user in tenant.users.values():  # type: ignore[attr-defined]
        if user.mailbox in ("user", "shared", "room", "equipment"):
            expected = "on_premises" if user.id in state.on_premises else "cloud"  # type: ignore[attr-defined]
            assert places[user.mail.lower()] == expected
    rows = grant_rows(report)
    cross_send_as = [
        g
        for g in rows
        if g["right"] == "send_as" and g["direction"] not in ("on_premises", "cloud")
    ]
    assert cross_send_as and all(g["category"] in ("manual", "works") for g in cross_send_as)
    assert all(
        g["category"] == "broken" for g in rows if g["right"] == "folder" and "→" in g["direction"]
    )
    batches = hybrid.run(
        hybrid.task("batches", "migration_batches", read_store=False, max_batch_size=10)
    )
    assert batches.report is not None
    found = batches.report["service_accounts"]
    account = tenant.users[state.service_accounts[0]].mail.lower()  # type: ignore[attr-defined]
    assert account in {s["address"] for s in found if s["excluded"]}
