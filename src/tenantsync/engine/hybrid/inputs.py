"""Both sides gathered for one run: the exported files' inventory and the store's cloud
side merged into people, their grants resolved, and the organization's facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from tenantsync.engine.hybrid.grants import Collector, GrantTable
from tenantsync.engine.hybrid.options import SourceOptions
from tenantsync.engine.hybrid.people import People
from tenantsync.engine.hybrid.rules import Organization, organization
from tenantsync.engine.hybrid.store_side import load_store_side
from tenantsync.model.hybrid import Inventory, Side


@dataclass
class Inputs:
    """Everything both hybrid features plan from."""

    people: People
    grants: GrantTable
    org: Organization
    sources: dict[str, Any] = field(default_factory=dict)
    notes: list[tuple[str, bool]] = field(default_factory=list)
    """(text, names grants): a note naming trustees or grants is grant data."""


def gather(
    session: Session, organization_id: int, inventory: Inventory, options: SourceOptions
) -> Inputs:
    """People from both sides, every grant resolved, the organization's facts."""
    people = People()
    for side in (Side.ON_PREMISES, Side.CLOUD):
        for recipient in inventory.side(side).recipients:
            people.add(recipient)
    store = None
    if options.read_store:
        store = load_store_side(session, organization_id, people, options.cloud_connection)
    people.place(store.locations if store else None)
    collector = Collector(people, assume_automapping=options.assume_automapping)
    cloud_entries = list(inventory.side(Side.CLOUD).entries) + (store.entries if store else [])
    collector.add_entries(Side.ON_PREMISES, list(inventory.side(Side.ON_PREMISES).entries))
    collector.add_entries(Side.CLOUD, cloud_entries)
    for side in Side:
        collector.add_folders(side, inventory.side(side).folders)
    org = organization(
        inventory.servers,
        inventory.aclable_sync,
        options.entra_connect_version,
        options.exchange_hybrid,
    )
    sources: dict[str, Any] = {
        "files": [
            {
                "name": f.name,
                "side": f.side.value,
                "cmdlet": f.cmdlet.value,
                "format": f.format.value,
                "objects": f.objects,
                "side_reason": f.side_reason,
            }
            for f in inventory.files
        ],
        "store": None
        if store is None
        else {"mailboxes": store.mailboxes, "permission_sync_tasks": store.tasks},
    }
    notes: list[tuple[str, bool]] = []
    if not inventory.files:
        notes.append(
            ("the connection has no exported files yet: upload them or set its folder", False)
        )
    for side, keys in collector.unknown_mailboxes.items():
        shown = ", ".join(sorted(keys)[:5])
        notes.append(
            (
                f"{len(keys)} mailboxes named in {side.value} permission files match no "
                f"one listed mailbox (export Get-Mailbox / Get-Recipient too), e.g. {shown}",
                False,
            )
        )
    if collector.empty_groups:
        shown = ", ".join(sorted(collector.empty_groups)[:5])
        notes.append(
            (
                f"{len(collector.empty_groups)} group trustees have no known members (sync "
                f"the organization's groups with user sync), e.g. {shown}",
                True,
            )
        )
    notes += [(line, True) for line in collector.skips.warnings()]
    return Inputs(people, collector.table(), org, sources, notes)
