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

It writes to the stopped DC's database in four LDIF transactions (objects, memberships,
then, once the domain has given every object its SID, descriptors and delegates), so
20,000 mailboxes load in minutes rather than the better part of an hour over LDAP.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from winacl.dtyp.security_descriptor import SECURITY_DESCRIPTOR

from tenantsync.sandbox.entities import FULL_ACCESS, Group, User
from tenantsync.sandbox.onprem_layout import ROOT_OU, account_names, container, groups, people
from tenantsync.sandbox.samba import SambaDC
from tenantsync.sandbox.samba_ldb import add_record, ldb_add, ldb_modify, ldb_search, replace_record
from tenantsync.sandbox.samba_schema import extend_schema
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
    dc: SambaDC, tenant: SandboxTenant, remote_every: int = 10
) -> LoadedOrganization:
    """Write ``tenant`` into the stopped DC's domain, schema extended first; what went where."""
    extend_schema(dc)
    base_dn = dc.base_dn
    root = f"OU={ROOT_OU},{base_dn}"
    org = LoadedOrganization(
        base_dn=base_dn,
        people_ou=f"OU=People,{root}",
        resources_ou=f"OU=Resources,{root}",
        groups_ou=f"OU=Groups,{root}",
        database_dn=f"CN=Mailbox Database 01,CN=Databases,{root}",
    )
    records = [add_record(root, ["organizationalUnit"], {})]
    records += [add_record(ou, ["organizationalUnit"], {}) for ou in _ous(org)]
    records.append(add_record(f"CN=Databases,{root}", ["container"], {}))
    records.append(add_record(org.database_dn, ["container"], {}))
    for name in SYSTEM_GROUPS:
        records.append(
            add_record(f"CN={name},{org.groups_ou}", ["group"], {"sAMAccountName": name})
        )
    records += _service_accounts(org, dc.netbios)
    sams = account_names(tenant)
    records += [_user(org, user, sams[user.id], remote_every) for user in people(tenant)]
    records += [_group(org, group, sams[group.id]) for group in groups(tenant)]
    ldb_add(dc, records)
    # Members once every group exists: groups nest, in a cycle too.
    memberships = []
    for group in groups(tenant):
        members = [org.dns[m] for m in group.members if m in org.dns]
        if members:
            memberships.append(replace_record(org.dns[group.id], {"member": members}))
    ldb_modify(dc, memberships)
    org.sids = _sids(dc, root, org)
    ldb_modify(dc, _permissions(dc, org, tenant))
    return org


def _ous(org: LoadedOrganization) -> tuple[str, str, str]:
    return (org.people_ou, org.resources_ou, org.groups_ou)


def _user(org: LoadedOrganization, user: User, sam: str, remote_every: int) -> str:
    ou = org.people_ou if container(user) == "People" else org.resources_ou
    dn = f"CN={_escape(user.mail_nickname)},{ou}"
    enabled = user.account_enabled and user.mailbox in (None, "user")
    attrs: dict[str, Any] = {
        "sAMAccountName": sam,
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
    org.dns[user.id] = dn
    return add_record(dn, ["user"], attrs)


def _group(org: LoadedOrganization, group: Group, sam: str) -> str:
    dn = f"CN={_escape(group.mail_nickname)},{org.groups_ou}"
    group_type, recipient_type = GROUP_TYPES[group.kind]
    attrs: dict[str, Any] = {
        "sAMAccountName": sam,
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
    org.dns[group.id] = dn
    return add_record(dn, ["group"], attrs)


def _sids(dc: SambaDC, root: str, org: LoadedOrganization) -> dict[str, str]:
    """Sandbox id → the objectSid the domain gave it."""
    by_dn = {dn.lower(): sid_id for sid_id, dn in org.dns.items()}
    found: dict[str, str] = {}
    for dn, attrs in ldb_search(dc, root, "(objectSid=*)", ["objectSid"]).items():
        key = by_dn.get(dn.lower())
        if key is not None:
            found[key] = attrs["objectsid"][0]
    return found


def _service_accounts(org: LoadedOrganization, netbios: str) -> list[str]:
    """A reader allowed DirSync (Replicating Directory Changes on the domain, granted with
    the permissions) and one that is not, and is denied reading security descriptors."""
    records = []
    for sam in ("svc-tenantsync", "svc-limited"):
        password = f'"{SERVICE_PASSWORD}"'.encode("utf-16-le")
        attrs = {"sAMAccountName": sam, "unicodePwd": password, "userAccountControl": ENABLED}
        records.append(add_record(f"CN={sam},{org.groups_ou}", ["user"], attrs))
    org.service_user = f"{netbios}\\svc-tenantsync"
    org.limited_user = f"{netbios}\\svc-limited"
    return records


def _permissions(dc: SambaDC, org: LoadedOrganization, tenant: SandboxTenant) -> list[str]:
    """Modify records: the service accounts' and Exchange's entries on the domain and its
    OUs, then each mailbox's Full Access descriptor, delegates and Send As entries."""
    domain_sid = org.sids[next(iter(org.sids))].rsplit("-", 1)[0]
    service = _sid_of(dc, f"CN=svc-tenantsync,{org.groups_ou}")
    limited = _sid_of(dc, f"CN=svc-limited,{org.groups_ou}")
    servers = _sid_of(dc, f"CN=Exchange Servers,{org.groups_ou}")
    tenantsync_ou = org.people_ou.split(",", 1)[1]
    records = [
        _with_aces(dc, org.base_dn, [f"(OA;;0x100;{REPLICATING_CHANGES};;{service})"]),
        _with_aces(dc, tenantsync_ou, [f"(D;CI;0x20000;;;{limited})"]),
        _with_aces(dc, org.resources_ou, [f"(OA;CI;0x100;{SEND_AS};{USER_CLASS};{servers})"]),
    ]
    first_shared = next(
        (u.id for u in tenant.users.values() if u.mailbox == "shared" and u.id in org.dns), None
    )
    template: dict[str, str] = {}
    for user_id, dn in org.dns.items():
        user = tenant.users.get(user_id)
        if user is None or user.mailbox is None:
            continue
        aces = [
            "(A;;0x20001;;;PS)",
            f"(A;CIID;0x5;;;{servers})",
            f"(D;CIID;0x1;;;{domain_sid}-512)",
        ]
        for ref, flags, deny in tenant.full_access.get(user_id, []):
            sid = _trustee(org, ref)
            if sid and flags & FULL_ACCESS:
                aces.append(f"({'D' if deny else 'A'};CI;0x1;;;{sid})")
        if user_id == first_shared:
            # Applies to the mailbox's children only: no right on the mailbox itself.
            aces.append(f"(A;CIIO;0x1;;;{org.sids[_someone(org, tenant, user_id)]})")
        changes: dict[str, Any] = {"msExchMailboxSecurityDescriptor": _sd(aces, domain_sid)}
        delegates = [org.dns[d] for d in user.send_on_behalf if d in org.dns]
        if delegates:
            changes["publicDelegates"] = delegates
        send_as = [
            f"(O{'D' if deny else 'A'};;0x100;{SEND_AS};;{sid})"
            for ref, deny in tenant.send_as.get(user_id, [])
            if (sid := _trustee(org, ref))
        ]
        if send_as:
            # Every mailbox of an OU starts from the same descriptor: read one per OU.
            ou = dn.split(",", 1)[1]
            if ou not in template:
                template[ou] = _descriptor(dc, dn)
            changes["nTSecurityDescriptor"] = _insert_aces(template[ou], send_as)
        records.append(replace_record(dn, changes))
    return records


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


def _with_aces(dc: SambaDC, dn: str, aces: list[str]) -> str:
    """A modify record adding entries to an object's DACL."""
    return replace_record(dn, {"nTSecurityDescriptor": _insert_aces(_descriptor(dc, dn), aces)})


def _descriptor(dc: SambaDC, dn: str) -> str:
    found = ldb_search(dc, dn, "(objectClass=*)", ["nTSecurityDescriptor"], scope="base")
    return next(iter(found.values()))["ntsecuritydescriptor"][0]


def _insert_aces(sddl: str, aces: list[str]) -> str:
    """The descriptor with ``aces`` at the end of its DACL and its inherited entries left
    out: the DC computes those again from the parent when the descriptor is written."""
    start = sddl.index("D:")
    end = sddl.find("S:", start)
    end = len(sddl) if end < 0 else end
    dacl = sddl[start:end]
    head = dacl[: dacl.find("(")] if "(" in dacl else dacl
    own = [ace for ace in re.findall(r"\([^)]*\)", dacl) if not _inherited(ace)]
    return sddl[:start] + head + "".join(own + aces) + sddl[end:]


def _inherited(ace: str) -> bool:
    flags = ace[1:-1].split(";")[1]
    return "ID" in (flags[i : i + 2] for i in range(0, len(flags), 2))


def _sid_of(dc: SambaDC, dn: str) -> str:
    found = ldb_search(dc, dn, "(objectClass=*)", ["objectSid"], scope="base")
    return next(iter(found.values()))["objectsid"][0]


def _escape(value: str) -> str:
    return "".join(f"\\{c}" if c in ',+"\\<>;=#' else c for c in value)


__all__ = ["LoadedOrganization", "load_organization"]
