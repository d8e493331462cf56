"""Where the on-premises sandbox keeps its objects in Active Directory and what it calls
them: the Samba loader writes them so and the emulated Management Shell names them so, so
the two paths of an on-premises connection name one object alike (a Send on Behalf delegate
as a DN from the DC, as a canonical name from Get-Mailbox; a trustee as DOMAIN\\account
from both)."""

from __future__ import annotations

from tenantsync.sandbox.entities import Group, User
from tenantsync.sandbox.samba import REALM
from tenantsync.sandbox.tenant import SandboxTenant

ROOT_OU = "Tenantsync"
# Group kinds an on-premises directory keeps (Microsoft 365 and dynamic groups have no
# on-premises form), and the service accounts the loader adds before anyone else.
GROUP_KINDS = ("security", "mail_security", "distribution")
SERVICE_ACCOUNTS = ("svc-tenantsync", "svc-limited")
_names: dict[int, tuple[tuple[int, int], dict[str, str]]] = {}


def people(tenant: SandboxTenant) -> list[User]:
    """The users an on-premises directory has (guests are Microsoft 365's alone)."""
    return [u for u in tenant.users.values() if u.user_type != "Guest"]


def groups(tenant: SandboxTenant) -> list[Group]:
    """The groups an on-premises directory has."""
    return [g for g in tenant.groups.values() if g.kind in GROUP_KINDS]


def account_names(tenant: SandboxTenant) -> dict[str, str]:
    """Each on-premises user's and group's sAMAccountName by sandbox id: the alias cut to
    18 characters, numbered when taken, in the loader's order (people, then groups)."""
    key = (len(tenant.users), len(tenant.groups))
    cached = _names.get(id(tenant))
    if cached is not None and cached[0] == key:
        return cached[1]
    taken: set[str] = set()
    objects: list[User | Group] = [*people(tenant), *groups(tenant)]
    names = {o.id: _sam(o.mail_nickname, taken) for o in objects}
    _names[id(tenant)] = (key, names)
    return names


def _sam(alias: str, taken: set[str]) -> str:
    """A unique sAMAccountName of at most 18 characters (the domain refuses one that ends
    with a dot)."""
    base = alias[:18].rstrip(".")
    sam, n = base, 1
    while sam.lower() in taken:
        n += 1
        sam = f"{base[: 18 - len(str(n))]}{n}"
    taken.add(sam.lower())
    return sam


def container(user: User) -> str:
    """The OU under the root a user is kept in: people apart from resources."""
    return "People" if user.mailbox in (None, "user") else "Resources"


def user_canonical_name(user: User) -> str:
    """``corp.example/Tenantsync/People/jdoe``: how Exchange shows the user's object."""
    return _canonical(container(user), user.mail_nickname)


def group_canonical_name(group: Group) -> str:
    """``corp.example/Tenantsync/Groups/research``."""
    return _canonical("Groups", group.mail_nickname)


def _canonical(ou: str, name: str) -> str:
    return "/".join((REALM.lower(), ROOT_OU, ou, name.replace("/", "\\/")))


__all__ = [
    "GROUP_KINDS",
    "ROOT_OU",
    "account_names",
    "container",
    "group_canonical_name",
    "groups",
    "people",
    "user_canonical_name",
]
