"""Generates mailbox permissions as Exchange reports them: Full Access (direct, through
nested and cyclic groups), Send As, Send on Behalf, calendar folder rights, and the oddities
real organizations carry (Deny entries, orphaned SIDs, trustees from outside)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from tenantsync.sandbox.entities import (
    CAN_VIEW_PRIVATE_ITEMS,
    DEFAULT_TRUSTEE,
    DELEGATE,
    FULL_ACCESS,
    READ_PERMISSION,
    FolderEntry,
    FullAccessEntry,
    Group,
    SendAsEntry,
    User,
)
from tenantsync.sandbox.gen_groups import CYCLE_DESCRIPTION, NESTED_DESCRIPTION
from tenantsync.sandbox.ids import domain_sid

if TYPE_CHECKING:
    from tenantsync.sandbox.tenant import SandboxTenant


def generate_permissions(tenant: SandboxTenant, rng: random.Random) -> None:
    """Fill the tenant's Full Access, Send As, Send on Behalf and calendar rights."""
    mailboxes = [u for u in tenant.users.values() if u.mailbox is not None]
    people = [u for u in mailboxes if u.mailbox == "user"] or mailboxes
    guests = [u for u in tenant.users.values() if u.user_type == "Guest"]
    access = [g for g in tenant.groups.values() if g.kind == "mail_security"]
    special = [g for g in access if g.description in (NESTED_DESCRIPTION, CYCLE_DESCRIPTION)]
    old_domain = domain_sid(rng)

    def orphan() -> str:
        return f"{old_domain}-{rng.randrange(1000, 99999)}"

    def someone_else(mbx: User) -> User:
        other = rng.choice(people)
        return other if other.id != mbx.id else people[(people.index(other) + 1) % len(people)]

    for mbx in mailboxes:
        full: list[FullAccessEntry] = []
        send_as: list[SendAsEntry] = []
        folder: list[FolderEntry] = []
        if mbx.mailbox == "shared":
            holders = rng.sample(people, min(len(people), rng.randint(2, 8)))
            full += [(p.id, FULL_ACCESS, False) for p in holders if p.id != mbx.id]
            if access and rng.random() < 0.4:
                full.append((rng.choice(access).id, FULL_ACCESS, False))
            if guests and rng.random() < 0.05:
                full.append((rng.choice(guests).id, FULL_ACCESS, False))
            send_as += [(p.id, False) for p in holders[: rng.randint(0, 3)] if p.id != mbx.id]
            mbx.send_on_behalf = [p.id for p in holders[-rng.randint(0, 2) :] if p.id != mbx.id]
        elif mbx.mailbox == "user":
            roll = rng.random()
            if roll < 0.05:
                full.append((someone_else(mbx).id, FULL_ACCESS, False))
            elif roll < 0.13:
                assistant = someone_else(mbx)
                flags = DELEGATE | (CAN_VIEW_PRIVATE_ITEMS if rng.random() < 0.5 else 0)
                folder.append((assistant.id, "Editor", flags))
                mbx.send_on_behalf = [assistant.id]
            elif roll < 0.28:
                for _ in range(rng.randint(1, 3)):
                    role = rng.choice(("Reviewer", "LimitedDetails", "Author"))
                    folder.append((someone_else(mbx).id, role, 0))
            if rng.random() < 0.01:
                full.append((someone_else(mbx).id, READ_PERMISSION, False))
        else:
            if rng.random() < 0.3:
                full.append((someone_else(mbx).id, FULL_ACCESS, False))
            if rng.random() < 0.3:
                folder.append((someone_else(mbx).id, "Editor", 0))
        if rng.random() < 0.02:
            full.append((orphan(), FULL_ACCESS, False))
        if rng.random() < 0.005:
            full.append((someone_else(mbx).id, FULL_ACCESS, True))
        if rng.random() < 0.005:
            send_as.append((orphan(), False))
        if rng.random() < 0.05:
            folder.append((DEFAULT_TRUSTEE, rng.choice(("Reviewer", "LimitedDetails")), 0))
        if rng.random() < 0.005:
            folder.append((f"NT:{orphan()}", "Reviewer", 0))
        if full:
            tenant.full_access[mbx.id] = full
        if send_as:
            tenant.send_as[mbx.id] = send_as
        if folder:
            tenant.calendar_permissions[mbx.id] = folder
    _guarantee_oddities(tenant, mailboxes, people, guests, special, orphan)


def _guarantee_oddities(
    tenant: SandboxTenant,
    mailboxes: list[User],
    people: list[User],
    guests: list[User],
    special: list[Group],
    orphan: Callable[[], str],
) -> None:
    """Even a small tenant shows every oddity at least once, on its first shared mailbox."""
    shared = next((m for m in mailboxes if m.mailbox == "shared"), mailboxes[0])
    full = tenant.full_access.setdefault(shared.id, [])
    for group in special:
        if all(ref != group.id for ref, _, _ in full):
            full.append((group.id, FULL_ACCESS, False))
    full.append((orphan(), FULL_ACCESS, False))
    denied = people[0] if people[0].id != shared.id else people[-1]
    full.append((denied.id, FULL_ACCESS, True))
    if guests:
        full.append((guests[0].id, FULL_ACCESS, False))
        shared.send_on_behalf = [*shared.send_on_behalf, guests[0].id]
    tenant.send_as.setdefault(shared.id, []).append((people[-1].id, False))
    boss = people[1 % len(people)]
    delegates = (f for entries in tenant.calendar_permissions.values() for _, _, f in entries)
    if not any(f & CAN_VIEW_PRIVATE_ITEMS for f in delegates):
        assistant = people[2 % len(people)]
        tenant.calendar_permissions.setdefault(boss.id, []).append(
            (assistant.id, "Editor", DELEGATE | CAN_VIEW_PRIVATE_ITEMS)
        )
        boss.send_on_behalf = [*boss.send_on_behalf, assistant.id]
