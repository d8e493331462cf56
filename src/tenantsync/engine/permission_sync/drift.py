"""Where two reads of one organization's permissions disagree, mailbox by mailbox: the
on-premises domain controller's descriptors against what the Exchange Management Shell
reports (or any two PermissionSources).

Entries are compared as (right, trustee, allow or deny), explicit entries only (the
inherited system entries differ in form between the paths and grant nothing a sync
manages); a trustee is compared by its bare account name (``CORP\\jdoe`` → ``jdoe``).
A mailbox either read could not read is named as not compared, never as drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

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


def _show(key: Key) -> str:
    right, trustee, deny = key
    return f"{'deny ' if deny else ''}{right.value} {trustee}"


def _key(entry: AclEntry) -> Key:
    name = entry.trustee.name.strip().lower().rsplit("\\", 1)[-1]
    return (entry.right, name, entry.deny)


def _explicit(acl: MailboxAcl) -> set[Key]:
    return {_key(e) for e in acl.entries if not e.inherited}


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
