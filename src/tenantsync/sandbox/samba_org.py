"""Loads a generated sandbox organization into a Samba domain as an on-premises Exchange
organization keeps it in Active Directory.

People, shared, room and equipment mailboxes become users with ``mail``,
``proxyAddresses``, ``mailNickname``, ``msExchRecipientTypeDetails`` and ``homeMDB`` (every
tenth person's mailbox is a remote one living in Exchange Online: ``RemoteUserMailbox``
with a ``targetAddress`` and no database); security, mail-enabled security and
distribution groups keep their nesting, cycle included. Permissions are written in their
AD form: Full Access in ``msExchMailboxSecurityDescriptor`` (with the inherited system
entries Exchange copies from the database, an inherit-only entry and Deny entries), Send
As as extended-right entries in ``nTSecurityDescriptor`` (one inherited from the resources'
OU), Send on Behalf in ``publicDelegates``; trustees that are SIDs of a domain long gone
stay orphaned. Microsoft 365 groups, dynamic groups and guests have no on-premises form
and are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ldap3 import MODIFY_REPLACE, SUBTREE, Connection
from ldap3.protocol.microsoft import security_descriptor_control
from winacl.dtyp.security_descriptor import SECURITY_DESCRIPTOR

from tenantsync.sandbox.entities import FULL_ACCESS, Group, User
from tenantsync.sandbox.tenant import SandboxTenant

SEND_AS = "ab721a54-1e2f-11d0-9819-00aa0040529b"
USER_CLASS = "bf967aba-0de6-11d0-a285-00aa003049e2"
REPLICATING_CHANGES = "1131f6aa-9c07-11d1-f79f-00c04fc2dcd2"
RECIPIENT_TYPES = {
    "user": 1,
    "shared": 4,
    "room": 16,
    "equipment": 32,
    "scheduling": 17592186044416,
}
LINKED_MAILBOX = 2
REMOTE_USER_MAILBOX = 2147483648
GROUP_TYPES = {
    "security": (-2147483646, None),
    "mail_security": (-2147483640, 1024),
    "distribution": (8, 256),
}
ENABLED, DISABLED, NO_PASSWORD = 0x200, 0x2, 0x20
SERVICE_PASSWORD = "Svc-Sandbox-Pass-1"
SYSTEM_GROUPS = ("Exchange Servers", "Organization Management", "Exchange Trusted Subsystem")


@dataclass
class LoadedOrganization:
    """Where everything went: DNs, the sandbox ids' DNs, and the service accounts."""

    base_dn: str
    people_ou: str
    resources_ou: str
    groups_ou: str
    database_dn: str
    dns: dict[str, str] = field(default_factory=dict)
    sids: dict[str, str] = field(default_factory=dict)
    service_user: str = ""
    limited_user: str = ""
    service_password: str = SERVICE_PASSWORD
    remote: set[str] = field(default_factory=set)
    linked: set[str] = field(default_factory=set)


def load_organization(
    conn: Connection, base_dn: str, netbios: str, tenant: SandboxTenant, remote_every: int = 10
) -> LoadedOrganization:
    """Write ``tenant`` into the domain at ``base_dn``; what was written where."""
    root = f"OU=Tenantsync,{base_dn}"
    org = LoadedOrganization(
        base_dn=base_dn,
        people_ou=f"OU=People,{root}",
        resources_ou=f"OU=Resources,{root}",
        groups_ou=f"OU=Groups,{root}",
        database_dn=f"CN=Mailbox Database 01,CN=Databases,{root}",
    )
    _add(conn, root, ["organizationalUnit"], {})
    for ou in (org.people_ou, org.resources_ou, org.groups_ou):
        _add(conn, ou, ["organizationalUnit"], {})
    _add(conn, f"CN=Databases,{root}", ["container"], {})
    _add(conn, org.database_dn, ["container"], {})
    for name in SYSTEM_GROUPS:
        _add(conn, f"CN={name},{org.groups_ou}", ["group"], {"sAMAccountName": name})
    sams: set[str] = set()
    people = [u for u in tenant.users.values() if u.user_type != "Guest"]
    for user in people:
        _add_user(conn, org, user, sams, remote_every)
    groups = [g for g in tenant.groups.values() if g.kind in GROUP_TYPES]
    for group in groups:
        _add_group(conn, org, group, sams)
    for group in groups:
        members = [org.dns[m] for m in group.members if m in org.dns]
        if members:
            _modify(conn, org.dns[group.id], {"member": [(MODIFY_REPLACE, members)]})
    org.sids = _sids(conn, root, org)
    _service_accounts(conn, org, netbios)
    _permissions(conn, org, tenant, base_dn)
    return org


def _add_user(
    conn: Connection, org: LoadedOrganization, user: User, sams: set[str], remote_every: int
) -> None:
    ou = org.people_ou if user.mailbox in (None, "user") else org.resources_ou
    dn = f"CN={_escape(user.mail_nickname)},{ou}"
    enabled = user.account_enabled and user.mailbox in (None, "user")
    attrs: dict[str, Any] = {
        "sAMAccountName": _sam(user.mail_nickname, sams),
        "userPrincipalName": user.user_principal_name,
        "displayName": user.display_name,
        "userAccountControl": (ENABLED if enabled else ENABLED | DISABLED) | NO_PASSWORD,
    }
    for key, value in (
        ("givenName", user.given_name),
        ("sn", user.surname),
        ("department", user.department),
        ("company", user.company_name),
        ("title", user.job_title),
    ):
        if value:
            attrs[key] = value
    if user.mailbox is not None and user.mail:
        attrs |= {
            "mail": user.mail,
            "proxyAddresses": user.proxy_addresses,
            "mailNickname": user.mail_nickname,
            "msExchMailboxGuid": bytes.fromhex(user.exchange_guid.replace("-", "")),
        }
        kind = RECIPIENT_TYPES[user.mailbox]
        if user.mailbox == "user" and user.index % remote_every == 3:
            org.remote.add(user.id)
            kind = REMOTE_USER_MAILBOX
            attrs["targetAddress"] = f"SMTP:{user.mail_nickname}@tenant.mail.onmicrosoft.com"
        else:
            attrs["homeMDB"] = org.database_dn
            if user.mailbox == "user" and user.index % 97 == 5:
                org.linked.add(user.id)
                kind = LINKED_MAILBOX
        attrs["msExchRecipientTypeDetails"] = kind
    _add(conn, dn, ["user"], attrs)
    org.dns[user.id] = dn


def _add_group(conn: Connection, org: LoadedOrganization, group: Group, sams: set[str]) -> None:
    dn = f"CN={_escape(group.mail_nickname)},{org.groups_ou}"
    group_type, recipient_type = GROUP_TYPES[group.kind]
    attrs: dict[str, Any] = {
        "sAMAccountName": _sam(group.mail_nickname, sams),
        "displayName": group.display_name,
        "groupType": group_type,
    }
    if group.description:
        attrs["description"] = group.description
    if recipient_type is not None and group.mail:
        attrs |= {
            "mail": group.mail,
            "proxyAddresses": group.proxy_addresses,
            "mailNickname": group.mail_nickname,
            "msExchRecipientTypeDetails": recipient_type,
        }
    _add(conn, dn, ["group"], attrs)
    org.dns[group.id] = dn


def _sids(conn: Connection, root: str, org: LoadedOrganization) -> dict[str, str]:
    """Sandbox id → the objectSid the domain gave it."""
    by_dn = {dn.lower(): sid_id for sid_id, dn in org.dns.items()}
    found: dict[str, str] = {}
    for entry in conn.extend.standard.paged_search(
        root, "(objectSid=*)", SUBTREE, attributes=["objectSid"], paged_size=1000
    ):
        key = by_dn.get(str(entry.get("dn", "")).lower())
        if key is not None:
            found[key] = str(entry["attributes"]["objectSid"])
    return found


def _service_accounts(conn: Connection, org: LoadedOrganization, netbios: str) -> None:
    """A reader allowed DirSync (Replicating Directory Changes on the domain) and one that
    is not, and is denied reading security descriptors of people."""
    for sam in ("svc-tenantsync", "svc-limited"):
        password = f'"{SERVICE_PASSWORD}"'.encode("utf-16-le")
        dn = f"CN={sam},{org.groups_ou}"
        _add(conn, dn, ["user"], {"sAMAccountName": sam, "unicodePwd": password})
        _modify(conn, dn, {"userAccountControl": [(MODIFY_REPLACE, [ENABLED])]})
    org.service_user = f"{netbios}\\svc-tenantsync"
    org.limited_user = f"{netbios}\\svc-limited"
    service_sid = _sid_of(conn, f"CN=svc-tenantsync,{org.groups_ou}")
    limited_sid = _sid_of(conn, f"CN=svc-limited,{org.groups_ou}")
    _append_aces(conn, org.base_dn, [f"(OA;;0x100;{REPLICATING_CHANGES};;{service_sid})"])
    _append_aces(conn, org.people_ou.split(",", 1)[1], [f"(D;CI;0x20000;;;{limited_sid})"])


def _permissions(
    conn: Connection, org: LoadedOrganization, tenant: SandboxTenant, base_dn: str
) -> None:
    domain_sid = org.sids[next(iter(org.sids))].rsplit("-", 1)[0]
    servers = _sid_of(conn, f"CN=Exchange Servers,{org.groups_ou}")
    _append_aces(conn, org.resources_ou, [f"(OA;CI;0x100;{SEND_AS};{USER_CLASS};{servers})"])
    first_shared = next(
        (u.id for u in tenant.users.values() if u.mailbox == "shared" and u.id in org.dns), None
    )
    for user_id, dn in org.dns.items():
        user = tenant.users.get(user_id)
        if user is None or user.mailbox is None:
            continue
        full = [
            (_trustee(org, ref), flags & FULL_ACCESS, deny)
            for ref, flags, deny in tenant.full_access.get(user_id, [])
        ]
        aces = [
            "(A;;0x20001;;;PS)",
            f"(A;CIID;0x5;;;{servers})",
            f"(D;CIID;0x1;;;{domain_sid}-512)",
        ]
        for sid, rights, deny in full:
            if sid and rights:
                aces.append(f"({'D' if deny else 'A'};CI;0x1;;;{sid})")
        if user_id == first_shared:
            # Applies to the mailbox's children only: no right on the mailbox itself.
            aces.append(f"(A;CIIO;0x1;;;{org.sids[_someone(org, tenant, user_id)]})")
        changes: dict[str, Any] = {
            "msExchMailboxSecurityDescriptor": [(MODIFY_REPLACE, [_sd(aces, domain_sid)])]
        }
        delegates = [org.dns[d] for d in user.send_on_behalf if d in org.dns]
        if delegates:
            changes["publicDelegates"] = [(MODIFY_REPLACE, delegates)]
        _modify(conn, dn, changes)
        send_as = [
            f"(O{'D' if deny else 'A'};;0x100;{SEND_AS};;{sid})"
            for ref, deny in tenant.send_as.get(user_id, [])
            if (sid := _trustee(org, ref))
        ]
        if send_as:
            _append_aces(conn, dn, send_as)


def _trustee(org: LoadedOrganization, ref: str) -> str | None:
    """A trustee reference as a SID: an object's, or an orphaned one as generated."""
    if ref.upper().startswith("S-1-"):
        return ref
    return org.sids.get(ref)


def _someone(org: LoadedOrganization, tenant: SandboxTenant, not_id: str) -> str:
    return next(u.id for u in tenant.users.values() if u.id in org.sids and u.id != not_id)


def _sd(aces: Iterable[str], domain_sid: str) -> bytes:
    sddl = "O:DAG:DAD:" + "".join(aces)
    return bytes(SECURITY_DESCRIPTOR.from_sddl(sddl, domain_sid=domain_sid).to_bytes())


def _append_aces(conn: Connection, dn: str, aces: list[str]) -> None:
    """Add entries to an object's DACL (read and written with the DACL-only SD flag)."""
    controls = security_descriptor_control(sdflags=0x04)
    conn.search(
        dn, "(objectClass=*)", "BASE", attributes=["nTSecurityDescriptor"], controls=controls
    )
    current = SECURITY_DESCRIPTOR.from_bytes(conn.entries[0]["nTSecurityDescriptor"].raw_values[0])
    sddl = current.to_sddl()
    dacl = sddl[sddl.index("D:") :]
    for ace in aces:
        dacl += ace
    sd = SECURITY_DESCRIPTOR.from_sddl(dacl, domain_sid=None)
    changes = {"nTSecurityDescriptor": [(MODIFY_REPLACE, [bytes(sd.to_bytes())])]}
    if not conn.modify(dn, changes, controls=controls):
        raise RuntimeError(f"cannot write the DACL of {dn}: {conn.result}")


def _sid_of(conn: Connection, dn: str) -> str:
    conn.search(dn, "(objectClass=*)", "BASE", attributes=["objectSid"])
    return str(conn.entries[0]["objectSid"].value)


def _sam(alias: str, taken: set[str]) -> str:
    base = alias[:18]
    sam, n = base, 1
    while sam.lower() in taken:
        n += 1
        sam = f"{base[: 18 - len(str(n))]}{n}"
    taken.add(sam.lower())
    return sam


def _escape(value: str) -> str:
    return "".join(f"\\{c}" if c in ',+"\\<>;=#' else c for c in value)


def _add(conn: Connection, dn: str, classes: list[str], attrs: dict[str, Any]) -> None:
    if not conn.add(dn, classes, attrs):
        raise RuntimeError(f"cannot add {dn}: {conn.result}")


def _modify(conn: Connection, dn: str, changes: dict[str, Any]) -> None:
    if not conn.modify(dn, changes):
        raise RuntimeError(f"cannot change {dn}: {conn.result}")


__all__ = ["LoadedOrganization", "load_organization"]
