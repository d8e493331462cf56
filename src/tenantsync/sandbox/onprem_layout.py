"""Where the on-premises sandbox keeps its objects in Active Directory: the Samba loader
writes them there and the emulated Management Shell names them from there, so the two
paths of an on-premises connection name one object alike (a Send on Behalf delegate as a
DN from the DC, as a canonical name from Get-Mailbox)."""

from __future__ import annotations

from tenantsync.sandbox.entities import Group, User
from tenantsync.sandbox.samba import REALM

ROOT_OU = "Tenantsync"


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


__all__ = ["ROOT_OU", "container", "group_canonical_name", "user_canonical_name"]
