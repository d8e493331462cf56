"""Generates groups: department lists, security and Microsoft 365 groups, nesting to depth 4,
one membership cycle, on-premises synced groups, and Exchange dynamic distribution groups."""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta

from tenantsync.sandbox import names
from tenantsync.sandbox.entities import DynamicGroup, Group, GroupKind, OnPremises, User
from tenantsync.sandbox.ids import UniqueAliases, domain_sid, guid, immutable_id

# Exchange appends these exclusions to every recipient filter it stores.
SYSTEM_EXCLUSIONS = (
    " -and (-not(Name -like 'SystemMailbox{*')) -and (-not(Name -like 'CAS_{*'))"
    " -and (-not(RecipientTypeDetailsValue -eq 'MailboxPlan'))"
    " -and (-not(RecipientTypeDetailsValue -eq 'DiscoveryMailbox'))"
    " -and (-not(RecipientTypeDetailsValue -eq 'PublicFolderMailbox'))"
    " -and (-not(RecipientTypeDetailsValue -eq 'ArbitrationMailbox'))"
    " -and (-not(RecipientTypeDetailsValue -eq 'AuditLogMailbox'))"
)
CYCLE_DESCRIPTION = "Mailbox access group (nested both ways with its partner group)"
NESTED_DESCRIPTION = "Mailbox access group (nested chain)"
PROJECTS = ("Apollo", "Beacon", "Cobalt", "Dune", "Ember", "Falcon", "Glacier", "Horizon")


def generate_groups(
    rng: random.Random,
    users: dict[str, User],
    domains: list[str],
    initial: str,
    aliases: UniqueAliases,
) -> tuple[dict[str, Group], dict[str, DynamicGroup]]:
    """Groups and dynamic distribution groups for `users`."""
    people = [u for u in users.values() if u.mailbox == "user"]
    guests = [u for u in users.values() if u.user_type == "Guest"]
    org_dom = domains[0]
    slug = org_dom.split(".")[0]
    dsid = domain_sid(rng)
    base_time = min(u.created for u in users.values())
    groups: dict[str, Group] = {}

    def make(kind: GroupKind, display: str, alias_base: str, description: str | None) -> Group:
        alias = aliases.take(names.ascii_fold(alias_base).lower())
        created = base_time + timedelta(days=rng.randrange(1500), seconds=rng.randrange(86400))
        mail_enabled = kind != "security"
        group = Group(
            index=len(groups),
            id=guid(rng),
            display_name=display,
            description=description,
            kind=kind,
            mail_nickname=alias,
            mail=f"{alias}@{org_dom}" if mail_enabled else None,
            proxy_addresses=[f"SMTP:{alias}@{org_dom}", f"smtp:{alias}@{initial}"]
            if mail_enabled
            else [],
            visibility=rng.choice(("Public", "Private")) if kind == "unified" else None,
            created=created,
            when_changed=created + timedelta(days=rng.randrange(100)),
            security_identifier=f"S-1-12-1-{rng.getrandbits(31)}-{rng.getrandbits(31)}"
            f"-{rng.getrandbits(31)}-{rng.getrandbits(31)}",
            exchange_object_guid=guid(rng),
        )
        if kind != "unified" and rng.random() < 0.25:
            group.on_premises = OnPremises(
                security_identifier=f"{dsid}-{5000 + group.index}",
                sam_account_name=alias[:20],
                distinguished_name=f"CN={display},OU=Groups,DC=corp,DC={slug},DC=com",
                domain_name=f"corp.{slug}.com",
                netbios_name=slug.upper()[:15],
                immutable_id=immutable_id(rng),
                last_sync=created + timedelta(days=1),
            )
        if people and kind in ("distribution", "mail_security"):
            group.managed_by.append(rng.choice(people).id)
        groups[group.id] = group
        return group

    by_dept: dict[str, list[str]] = {}
    for person in people:
        by_dept.setdefault(person.department or "", []).append(person.id)
    for dept in names.DEPARTMENTS:
        group = make("distribution", f"{dept} Team", f"{dept}.team", f"Everyone in {dept}")
        group.members = dict.fromkeys(by_dept.get(dept, []))
    everyone = make("unified", "All Company", "allcompany", "Everyone in the organization")
    everyone.members = dict.fromkeys(p.id for p in people)

    extra = max(12, len(users) // 40)
    forced: list[GroupKind] = ["security", "mail_security"] * 4
    shares: list[tuple[GroupKind, int]] = [
        ("security", 35),
        ("mail_security", 15),
        ("unified", 30),
        ("distribution", 20),
    ]
    weighted: list[GroupKind] = [k for k, n in shares for _ in range(n)]
    access: list[Group] = []
    for n in range(extra):
        kind = forced[n] if n < len(forced) else rng.choice(weighted)
        dept = rng.choice(names.DEPARTMENTS)
        if kind == "security":
            group = make(kind, f"SG-{dept}-{rng.choice(names.ROOM_WORDS)}", f"sg.{dept}", None)
        elif kind == "mail_security":
            group = make(kind, f"{dept} Mailbox Access", f"{dept}.access", "Mailbox access")
            access.append(group)
        elif kind == "unified":
            project = rng.choice(PROJECTS)
            group = make(kind, f"Project {project}", f"project.{project}", f"{project} team")
        else:
            office = rng.choice(names.OFFICES)
            group = make(kind, f"{office} Announcements", f"{office}.news", None)
        size = min(len(people), max(2, int(rng.paretovariate(1.3) * 4)), 500)
        group.members = dict.fromkeys(p.id for p in rng.sample(people, size)) if people else {}
        if kind == "unified" and guests and rng.random() < 0.4:
            group.members[rng.choice(guests).id] = None
    _nest(rng, groups, access)
    return groups, _dynamic_groups(rng, people, org_dom, aliases, base_time)


def _nest(rng: random.Random, groups: dict[str, Group], access: list[Group]) -> None:
    """Chains of depth 4 (parents before children, so acyclic) and exactly one cycle."""
    cycle = access[2:4] if len(access) >= 4 else []
    cycle_ids = {g.id for g in cycle}
    security = [
        g
        for g in groups.values()
        if g.kind in ("security", "mail_security") and g.id not in cycle_ids
    ]
    if len(security) >= 4:
        for n in range(max(1, len(security) // 8)):
            if n == 0 and access:
                # The first chain starts at an access group: Full Access flows through it.
                head = access[0]
                later = [g for g in security if g.index > head.index]
                chain = [head, *sorted(rng.sample(later, min(3, len(later))), key=_index)]
            else:
                chain = sorted(rng.sample(security, 4), key=_index)
            for parent, child in itertools.pairwise(chain):
                parent.members.setdefault(child.id, None)
            chain[0].description = NESTED_DESCRIPTION
    if cycle:
        first, second = cycle
        first.members.setdefault(second.id, None)
        second.members.setdefault(first.id, None)
        first.description = second.description = CYCLE_DESCRIPTION


def _index(group: Group) -> int:
    return group.index


def _dynamic_groups(
    rng: random.Random,
    people: list[User],
    domain: str,
    aliases: UniqueAliases,
    base_time: datetime,
) -> dict[str, DynamicGroup]:
    filters: list[tuple[str, str]] = [
        ("All Room Mailboxes", "(RecipientTypeDetails -eq 'RoomMailbox')")
    ]
    count = max(3, min(30, len(people) // 5000 + 3))
    for n in range(count - 1):
        if n % 2 == 0:
            dept = names.DEPARTMENTS[(n // 2) % len(names.DEPARTMENTS)]
            flt = f"((RecipientType -eq 'UserMailbox') -and (Department -eq '{dept}'))"
            filters.append((f"Dynamic {dept}", flt))
        else:
            office = names.OFFICES[(n // 2) % len(names.OFFICES)]
            flt = f"((Office -eq '{office}') -and (RecipientTypeDetails -eq 'UserMailbox'))"
            filters.append((f"Dynamic {office} Staff", flt))
    out: dict[str, DynamicGroup] = {}
    for name, flt in filters:
        alias = aliases.take(names.ascii_fold(name.replace(" ", ".")).lower())
        created = base_time + timedelta(days=rng.randrange(1000))
        dyn = DynamicGroup(
            id=guid(rng),
            name=name,
            alias=alias,
            primary_smtp_address=f"{alias}@{domain}",
            recipient_filter=f"({flt}){SYSTEM_EXCLUSIONS}",
            created=created,
            when_changed=created + timedelta(days=rng.randrange(50)),
        )
        if people:
            dyn.managed_by.append(rng.choice(people).id)
        out[dyn.id] = dyn
    return out
