"""Reading Exchange ACLs as they really are: drop system and inherited entries, resolve
trustees, expand groups to their transitive members, and let a Deny cancel the allow."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tenantsync.engine.permission_sync.directory import Directory, Resolved
from tenantsync.model.permissions import AclEntry, Grant, Right, Trustee

# Well-known principals every mailbox shows; never delegates.
SYSTEM_NAMES = frozenset(
    {
        "nt authority\\self",
        "nt authority\\system",
        "nt authority\\network service",
        "nt authority\\authenticated users",
        "null sid",
        "everyone",
        "self",
        "default",
        "anonymous",
    }
)
SYSTEM_SIDS = frozenset(
    {"s-1-5-10", "s-1-5-18", "s-1-5-19", "s-1-5-20", "s-1-5-11", "s-1-0-0", "s-1-1-0"}
)
# Every principal of these built-in domains is the machine's or the system's own.
SYSTEM_DOMAINS = ("nt authority\\", "builtin\\")
BUILTIN_SID = "s-1-5-32-"
# Exchange's built-in role groups and the administrative groups it places on mailboxes.
# Prefixed by a domain (CONTOSO\\Organization Management) or a datacenter forest
# (EURPR07A013\\Discovery Management) they are always system principals; a bare name is
# one unless it names a group of the directory.
SYSTEM_GROUPS = frozenset(
    {
        "administrator",
        "compliance administrator",
        "compliance management",
        "delegated setup",
        "discovery management",
        "domain admins",
        "enterprise admins",
        "exchange domain servers",
        "exchange enterprise servers",
        "exchange servers",
        "exchange trusted subsystem",
        "exchange windows permissions",
        "exchangelegacyinterop",
        "help desk",
        "hygiene management",
        "managed availability servers",
        "organization management",
        "public folder management",
        "recipient management",
        "records management",
        "schema admins",
        "security administrator",
        "security reader",
        "server management",
        "um management",
        "view-only organization management",
    }
)
# Per-tenant administrative groups of Exchange Online's datacenter forests.
SYSTEM_GROUP_PREFIXES = ("tenantadmins_", "exchangeserviceadmins_", "rim-mailboxadmins")
# Skip reasons that mean "someone should look", reported as run warnings with examples.
WARNING_REASONS = {
    "orphaned_sid": "name an orphaned SID (an account deleted from the directory)",
    "not_in_directory": "name a trustee that is not in the directory (external or unsynced)",
    "ambiguous_name": "name a trustee whose name matches several directory objects",
}
EXAMPLES_PER_REASON = 5

ResolvedEntry = tuple[str, int, str, bool]
"""(kind "mailbox"|"group", store id, right value, deny): a trustee entry after resolution."""


@dataclass
class Skips:
    """Entries left out, counted by reason, with a few examples of each."""

    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, example: str) -> None:
        """Count one skipped entry; keep it as an example while there are few."""
        self.counts[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < EXAMPLES_PER_REASON:
            shown.append(example)

    def warnings(self) -> list[str]:
        """One warning line per reason that needs attention, with count and examples."""
        lines = []
        for reason, text in WARNING_REASONS.items():
            n = self.counts.get(reason, 0)
            if n:
                examples = "; ".join(self.examples.get(reason, []))
                lines.append(f"{n} permission entries {text}; skipped (e.g. {examples})")
        return lines


def is_system_principal(trustee: Trustee) -> bool:
    """Whether the trustee is a well-known system principal or administrative group."""
    name = trustee.name.strip().lower()
    sid = (trustee.sid or "").strip().lower()
    if name in SYSTEM_NAMES or name in SYSTEM_SIDS or sid in SYSTEM_SIDS:
        return True
    if (
        name.startswith(SYSTEM_DOMAINS)
        or name.startswith(BUILTIN_SID)
        or sid.startswith(BUILTIN_SID)
    ):
        return True
    return "\\" in name and is_role_group(name)


def is_role_group(name: str) -> bool:
    """Whether a name (with or without its domain or forest prefix) is a built-in
    Exchange role group or administrative group."""
    bare = name.strip().lower().rsplit("\\", 1)[-1]
    return bare in SYSTEM_GROUPS or bare.startswith(SYSTEM_GROUP_PREFIXES)


def relevant_entries(
    entries: Iterable[AclEntry], skips: Skips, mailbox_address: str
) -> list[AclEntry]:
    """The entries that can be delegations: system principals and inherited entries dropped
    (and counted), duplicates removed."""
    kept: dict[AclEntry, None] = {}
    for entry in entries:
        where = f"{entry.trustee} on {mailbox_address}"
        if is_system_principal(entry.trustee):
            skips.add("system_principal", where)
        elif entry.inherited:
            skips.add("inherited", where)
        else:
            kept[entry] = None
    return list(kept)


# Trustees the directory does not know, counted to notice a read that lost its names.
UNRESOLVED_REASONS = frozenset({"not_in_directory", "ambiguous_name"})


def resolve_entries(
    entries: Iterable[AclEntry],
    directory: Directory,
    skips: Skips,
    mailbox_address: str,
    unresolved: set[Right] | None = None,
) -> list[ResolvedEntry]:
    """The entries that name a directory object, resolved; everything else counted in skips.

    ``unresolved`` (given when the reader could not check names against a whole listing)
    collects the rights of entries that name, by name only, a trustee the directory does
    not know: it may be a delegate the store holds under another name, so what the
    mailbox grants for those rights is not fully known.
    """
    resolved: list[ResolvedEntry] = []
    for entry in relevant_entries(entries, skips, mailbox_address):
        where = f"{entry.trustee} on {mailbox_address}"
        found = directory.resolve(entry.trustee)
        if not isinstance(found, Resolved):
            # A role group shown without a prefix is a system principal, not an unknown
            # trustee, unless the directory has a group of that name (resolved above).
            reason = "system_principal" if is_role_group(entry.trustee.name) else found.reason
            skips.add(reason, where)
            if (
                unresolved is not None
                and reason == "not_in_directory"
                and entry.trustee.source_id is None
            ):
                unresolved.add(entry.right)
            continue
        resolved.append((found.kind, found.id, entry.right.value, entry.deny))
    return resolved


def grants_from(
    mailbox_id: int,
    entries: Sequence[ResolvedEntry],
    directory: Directory,
    skips: Skips | None = None,
) -> list[Grant]:
    """The grants resolved entries give: groups expanded, Deny applied, self left out.

    A delegate reached directly and through groups keeps the direct grant; reached only
    through groups, it remembers the lowest group id so the result is deterministic.
    """
    allowed: dict[tuple[int, Right], int | None] = {}
    denied: set[tuple[int, Right]] = set()
    for kind, target, right_value, deny in entries:
        right = Right(right_value)
        reached: list[tuple[int, int | None]]
        if kind == "group":
            reached = [(m, target) for m in sorted(directory.expand(target))]
        else:
            reached = [(target, None)]
        for delegate, via in reached:
            key = (delegate, right)
            if deny:
                denied.add(key)
            elif key not in allowed or _better(via, allowed[key]):
                allowed[key] = via
    grants = []
    for (delegate, right), via_group in allowed.items():
        if (delegate, right) in denied:
            if skips is not None:
                skips.add("denied", f"{directory.addresses.get(delegate, delegate)}")
            continue
        if delegate == mailbox_id:
            if skips is not None:
                skips.add("self", directory.addresses.get(delegate, str(delegate)))
            continue
        grants.append(Grant(mailbox_id, delegate, right, via_group))
    grants.sort()
    return grants


def _better(via: int | None, current: int | None) -> bool:
    """A direct grant beats a group's; between groups the lower id wins."""
    if current is None:
        return False
    return via is None or via < current
