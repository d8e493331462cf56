"""Deterministic organization generator: same seed and size give the same tenant, ids included."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from tenantsync.sandbox import names
from tenantsync.sandbox.entities import (
    ClientApp,
    MailboxKind,
    OnPremises,
    User,
)
from tenantsync.sandbox.gen_acl import generate_permissions
from tenantsync.sandbox.gen_groups import generate_groups
from tenantsync.sandbox.ids import UniqueAliases, domain_sid, guid, immutable_id, secret
from tenantsync.sandbox.tenant import SandboxTenant

ORGANIZATIONS = ("Contoso", "Litware", "Woodgrove", "Proseware", "Lamna", "Trey Research")
SKUS = {
    "05e9a617-0261-4cee-bb44-138d3ef5d965": "SPE_E3",
    "06ebc4ee-1bb5-47dd-8120-11324bc54e06": "SPE_E5",
    "f245ecc8-75af-4f8e-b61f-27d8114de5f3": "O365_BUSINESS_PREMIUM",
    "4b9405b0-7788-4568-add1-99614e613b69": "EXCHANGESTANDARD",
}
GRAPH_ROLES = frozenset(
    {
        "User.Read.All",
        "Group.Read.All",
        "GroupMember.Read.All",
        "MailboxSettings.Read",
        "Calendars.Read",
        "Directory.Read.All",
    }
)
OFFICE_ZONES = {
    "Amsterdam": "W. Europe Standard Time",
    "Berlin": "W. Europe Standard Time",
    "Dublin": "GMT Standard Time",
    "Lisbon": "GMT Standard Time",
    "London": "GMT Standard Time",
    "Madrid": "W. Europe Standard Time",
    "New York": "Eastern Standard Time",
    "Paris": "W. Europe Standard Time",
    "Seattle": "Pacific Standard Time",
    "Singapore": "Singapore Standard Time",
    "Tokyo": "Tokyo Standard Time",
    "Warsaw": "Central European Standard Time",
}
EPOCH = datetime(2019, 3, 1, tzinfo=UTC)


def mailbox_kinds(count: int, rng: random.Random) -> list[MailboxKind]:
    """Exactly proportioned kinds (8% shared, 2% room, 0.5% equipment, a few scheduling)."""
    shared = round(count * 0.08)
    room = round(count * 0.02)
    equipment = max(1, round(count * 0.005)) if count >= 20 else 0
    scheduling = max(1, round(count * 0.002)) if count >= 20 else 0
    plan: list[tuple[MailboxKind, int]] = [
        ("shared", shared),
        ("room", room),
        ("equipment", equipment),
        ("scheduling", scheduling),
    ]
    kinds: list[MailboxKind] = []
    for kind, n in plan:
        kinds.extend([kind] * n)
    kinds += ["user"] * (count - len(kinds))
    rng.shuffle(kinds)
    return kinds


def generate_tenant(
    mailboxes: int,
    seed: int,
    *,
    calendar_anchor: date | None = None,
    calendar_days_before: int = 30,
    calendar_days_after: int = 60,
    guest_ratio: float = 0.03,
) -> SandboxTenant:
    """Generate an organization with `mailboxes` mailboxes, deterministic from `seed`.

    Calendar events are placed around `calendar_anchor` (default: today, UTC); ids do not
    depend on the anchor.
    """
    if mailboxes < 1:
        raise ValueError("mailboxes must be at least 1")
    rng = random.Random(seed)
    org = ORGANIZATIONS[seed % len(ORGANIZATIONS)]
    slug = names.ascii_fold(org).lower()
    tenant_id = guid(rng)
    initial = f"{slug}{seed % 100000}.onmicrosoft.com"
    domains = [f"{slug}.com", f"{slug}.eu"] + ([f"{slug}-labs.com"] if seed % 2 else [])
    aliases = UniqueAliases()
    users = _users(rng, mailboxes, org, domains, initial, guest_ratio, aliases)
    groups, dynamic = generate_groups(rng, users, domains, initial, aliases)
    anchor = calendar_anchor or datetime.now(UTC).date()
    start = datetime.combine(anchor - timedelta(days=calendar_days_before), time(), UTC)
    end = datetime.combine(anchor + timedelta(days=calendar_days_after), time(), UTC)
    tenant = SandboxTenant(
        tenant_id=tenant_id,
        seed=seed,
        organization_name=org,
        initial_domain=initial,
        domains=domains,
        clients=_clients(rng, org),
        skus=dict(SKUS),
        created=EPOCH + timedelta(days=rng.randrange(400)),
        calendar_start=start,
        calendar_end=end,
        forest=f"{rng.choice(('EURPR', 'NAMPR', 'APCPR'))}{rng.randrange(1, 9):02d}"
        f"A{rng.randrange(1, 999):03d}",
        users=users,
        groups=groups,
        dynamic_groups=dynamic,
    )
    generate_permissions(tenant, rng)
    return tenant


def _clients(rng: random.Random, org: str) -> list[ClientApp]:
    def app(
        name: str,
        *,
        graph_roles: frozenset[str] = GRAPH_ROLES,
        exchange_app_role: bool = True,
        directory_role: str | None = "Global Reader",
    ) -> ClientApp:
        return ClientApp(
            client_id=guid(rng),
            client_secret=secret(rng),
            display_name=f"{org} {name}",
            graph_roles=graph_roles,
            exchange_app_role=exchange_app_role,
            exchange_directory_role=directory_role,
        )

    return [
        app("tenantsync"),
        app("tenantsync (no Exchange.ManageAsApp)", exchange_app_role=False),
        app("tenantsync (no Exchange directory role)", directory_role=None),
        app(
            "tenantsync (directory only)",
            graph_roles=frozenset({"User.Read.All", "GroupMember.Read.All"}),
        ),
    ]


def _users(
    rng: random.Random,
    count: int,
    org: str,
    domains: list[str],
    initial: str,
    guest_ratio: float,
    aliases: UniqueAliases,
) -> dict[str, User]:
    dsid = domain_sid(rng)
    slug = names.ascii_fold(org).lower()
    sku_ids = list(SKUS)
    users: dict[str, User] = {}
    for index, kind in enumerate(mailbox_kinds(count, rng)):
        office = rng.choice(names.OFFICES)
        given: str | None
        surname: str | None
        department: str | None = rng.choice(names.DEPARTMENTS)
        if kind == "user":
            given, surname = rng.choice(names.GIVEN_NAMES), rng.choice(names.SURNAMES)
            display = f"{given} {surname}"
            base = f"{names.ascii_fold(given)}.{names.ascii_fold(surname)}".lower()
        else:
            given = surname = None
            display, base = _resource_name(rng, kind, office, department)
            if kind != "shared":
                department = None
        alias = aliases.take(base)
        roll = rng.random()
        domain = domains[0] if roll < 0.8 else domains[1] if roll < 0.95 else domains[-1]
        upn = f"{alias}@{domain}"
        proxies = [f"SMTP:{upn}", f"smtp:{alias}@{initial}"]
        if kind == "user" and rng.random() < 0.3:
            proxies.append(f"smtp:{alias}@{domains[1] if domain == domains[0] else domains[0]}")
        if kind == "user" and rng.random() < 0.5:
            proxies.append(f"SIP:{upn}")
        created = EPOCH + timedelta(days=rng.randrange(1800), seconds=rng.randrange(86400))
        licensed = kind == "user" and rng.random() < 0.9
        uid = guid(rng)
        on_prem = None
        if kind in ("user", "shared") and rng.random() < 0.3:
            sam = alias[:20]
            on_prem = OnPremises(
                security_identifier=f"{dsid}-{1100 + index}",
                sam_account_name=sam,
                distinguished_name=f"CN={display},OU={office},OU=Users,DC=corp,DC={slug},DC=com",
                domain_name=f"corp.{slug}.com",
                netbios_name=slug.upper()[:15],
                immutable_id=immutable_id(rng),
                last_sync=created + timedelta(days=rng.randrange(30)),
            )
        users[uid] = User(
            index=index,
            id=uid,
            display_name=display,
            given_name=given,
            surname=surname,
            user_principal_name=upn,
            mail=upn,
            mail_nickname=alias,
            proxy_addresses=proxies,
            department=department,
            company_name=org if kind == "user" and rng.random() < 0.9 else None,
            job_title=rng.choice(names.JOB_TITLES) if kind == "user" else None,
            office_location=office,
            account_enabled=kind == "user" and rng.random() > 0.03,
            licenses=[rng.choice(sku_ids)] if licensed else [],
            user_type="Member",
            mailbox=kind,
            created=created,
            when_changed=created + timedelta(days=rng.randrange(200)),
            exchange_guid=guid(rng),
            exchange_object_guid=guid(rng),
            on_premises=on_prem,
            time_zone=OFFICE_ZONES[office],
            language=names.OFFICE_LANGUAGE.get(office, ("en-US", ""))[0]
            if rng.random() < 0.5
            else "en-US",
            business_phones=[f"+1 425 555 {rng.randrange(10000):04d}"] if kind == "user" else [],
        )
    for n in range(max(2, round(count * guest_ratio))):
        given, surname = rng.choice(names.GIVEN_NAMES), rng.choice(names.SURNAMES)
        ext = rng.choice(names.EXTERNAL_DOMAINS)
        local = f"{names.ascii_fold(given)}.{names.ascii_fold(surname)}".lower()
        address = f"{local}@{ext}"
        alias = aliases.take(f"{local}_{ext}")
        uid = guid(rng)
        created = EPOCH + timedelta(days=rng.randrange(1800))
        users[uid] = User(
            index=count + n,
            id=uid,
            display_name=f"{given} {surname} ({ext.split('.')[0].title()})",
            given_name=given,
            surname=surname,
            user_principal_name=f"{local}_{ext}#EXT#@{initial}",
            mail=address,
            mail_nickname=alias.replace("@", "_"),
            proxy_addresses=[f"SMTP:{address}"],
            department=None,
            company_name=None,
            job_title=None,
            office_location=None,
            account_enabled=True,
            licenses=[],
            user_type="Guest",
            mailbox=None,
            created=created,
            when_changed=created,
            exchange_guid=guid(rng),
            exchange_object_guid=guid(rng),
        )
    return users


def _resource_name(
    rng: random.Random, kind: MailboxKind, office: str, department: str | None
) -> tuple[str, str]:
    fold = names.ascii_fold
    if kind == "shared":
        word = rng.choice(names.SHARED_WORDS)
        display = f"{department} {word}" if rng.random() < 0.5 else word
        return display, fold(display.replace(" ", ".")).lower()
    if kind == "room":
        word = rng.choice(names.ROOM_WORDS)
        return f"{office} {word} Room", f"room.{fold(office)}.{word}".lower()
    if kind == "equipment":
        word = rng.choice(names.EQUIPMENT_WORDS)
        return f"{office} {word}", f"equipment.{fold(office)}.{fold(word)}".lower()
    return f"Bookings {office}", f"bookings.{fold(office)}".lower()
