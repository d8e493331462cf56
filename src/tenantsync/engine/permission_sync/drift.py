"""Where two reads of one organization's permissions disagree, mailbox by mailbox: the
on-premises domain controller's descriptors against what the Exchange Management Shell
reports (or any two PermissionSources).

Entries are compared as (right, trustee, allow or deny), the entries a sync manages only:
inherited entries and system principals (SYSTEM, Domain Admins, Exchange's role groups)
differ in form between the paths and grant nothing a sync stores. A trustee is compared by
its bare name (``CORP\\jdoe`` → ``jdoe``), or, when one path gives a DN
(``CN=jdoe,OU=People,DC=corp,DC=example``) and the other a canonical name
(``corp.example/People/jdoe``), as how each path names Send on Behalf, by the canonical name.
A mailbox either read could not read is named as not compared, never as drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tenantsync.engine.permission_sync.acl import is_role_group, is_system_principal
from tenantsync.model.canonical import canonical_name
from tenantsync.model.permissions import AclEntry, MailboxAcl, ReadFailure, Right

Key = tuple[Right, str, bool]


@dataclass(frozen=True, slots=True)
class Drift:
    """One mailbox the two reads disagree on: what only each of them shows."""

    address: str
    only_first: tuple[Key, ...]
    only_second: tuple[Key, ...]


@dataclass(frozen=True, slots=True)
class DriftReport:
    """The mailboxes that disagree, and those not compared (with why)."""

    drifts: tuple[Drift, ...]
    not_compared: tuple[tuple[str, str], ...]
    compared: int

    def lines(self, first: str = "AD", second: str = "Shell") -> list[str]:
        """One line per mailbox that disagrees or was not compared."""
        out = []
        for d in self.drifts:
            parts = [f"only {first}: {_show(k)}" for k in d.only_first]
            parts += [f"only {second}: {_show(k)}" for k in d.only_second]
            out.append(f"{d.address}: " + "; ".join(parts))
        out += [f"{address}: not compared ({why})" for address, why in self.not_compared]
        return out

    def to_json(self, first: str = "ad", second: str = "shell") -> dict[str, object]:
        """The report as plain data: per mailbox the entries only each path shows."""
        return {
            "compared": self.compared,
            "drift": [
                {
                    "mailbox": d.address,
                    f"only_{first}": [_show(k) for k in d.only_first],
                    f"only_{second}": [_show(k) for k in d.only_second],
                }
                for d in self.drifts
            ],
            "not_compared": [{"mailbox": a, "reason": why} for a, why in self.not_compared],
        }


def _show(key: Key) -> str:
    right, trustee, deny = key
    return f"{'deny ' if deny else ''}{right.value} {trustee}"


def _key(entry: AclEntry) -> Key:
    name = entry.trustee.name.strip()
    # A DN and a canonical name of one object meet as the canonical name, whole.
    name = (canonical_name(name) if "=" in name else None) or name
    if "/" not in name:
        name = name.rsplit("\\", 1)[-1]
    return (entry.right, name.lower(), entry.deny)


def _managed(entry: AclEntry) -> bool:
    # A bare role-group name counts as Exchange's own group here: no directory to ask.
    trustee = entry.trustee
    return not (entry.inherited or is_system_principal(trustee) or is_role_group(trustee.name))


def _explicit(acl: MailboxAcl) -> set[Key]:
    return {_key(e) for e in acl.entries if _managed(e)}


def compare(
    first: Iterable[MailboxAcl | ReadFailure], second: Iterable[MailboxAcl | ReadFailure]
) -> DriftReport:
    """The mailboxes (by store id) whose explicit entries differ between the two reads."""
    left = {r.mailbox.id: r for r in first}
    right = {r.mailbox.id: r for r in second}
    drifts: list[Drift] = []
    skipped: list[tuple[str, str]] = []
    compared = 0
    for mailbox_id in sorted(left.keys() | right.keys()):
        a, b = left.get(mailbox_id), right.get(mailbox_id)
        address = (a or b).mailbox.address  # type: ignore[union-attr]
        if not isinstance(a, MailboxAcl) or not isinstance(b, MailboxAcl):
            why = next(
                (r.reason for r in (a, b) if isinstance(r, ReadFailure)), "read by one path only"
            )
            skipped.append((address, why))
            continue
        compared += 1
        ka, kb = _explicit(a), _explicit(b)
        if ka != kb:
            drifts.append(Drift(address, tuple(sorted(ka - kb)), tuple(sorted(kb - ka))))
    return DriftReport(tuple(drifts), tuple(skipped), compared)


__all__ = ["Drift", "DriftReport", "compare"]
