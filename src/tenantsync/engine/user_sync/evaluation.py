"""What the stored mailboxes were last evaluated against, and what a change of it needs.

A task's mailboxes are decided by its definition's options (domains, filters, rules, what
is synced) and its scope. When those change between runs, a delta read alone would leave
every unchanged user where the old rules put it until the next full read. So the task's
state keeps the evaluation the store reflects, and the next run compares:

- nothing changed: a delta read will do;
- the change can only narrow or re-route what is stored (rules that route, fewer domains,
  disabled accounts or guests no longer synced): every stored mailbox of the task is
  evaluated again from what the store keeps of it, without reading the source;
- the change may take in users the store never held (more domains, disabled accounts or
  guests, groups, a changed rule where rules excluded users, another scope): a full read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tenantsync.engine.user_sync.options import UserSyncOptions

# The options that decide which users are synced and how; the guard's thresholds, the
# restore window and the reconciliation interval do not.
EVALUATED = (
    "domains",
    "include_disabled",
    "include_guests",
    "rules",
    "sync_groups",
    "sync_group_addresses",
)
_TURNED_ON = {
    "include_disabled": "disabled accounts are now synced",
    "include_guests": "guest users are now synced",
    "sync_groups": "groups are now synced",
    "sync_group_addresses": "group addresses are now synced",
}


@dataclass(frozen=True)
class Evaluation:
    """What one task's stored mailboxes are decided by, as kept in its sync state."""

    options: dict[str, Any]
    domains: list[str]
    scope: list[str | None]

    @classmethod
    def of(
        cls,
        options: UserSyncOptions,
        domains: frozenset[str],
        scope_kind: str,
        scope_value: str | None,
    ) -> Evaluation:
        """The evaluation a run with these options, domains and scope makes."""
        dumped = options.model_dump(mode="json", include=set(EVALUATED))
        return cls(dumped, sorted(domains), [scope_kind, scope_value])

    @classmethod
    def stored(cls, state: dict[str, Any]) -> Evaluation | None:
        """The evaluation kept in a task's state (None: none was recorded)."""
        kept = state.get("evaluated")
        if not isinstance(kept, dict):
            return None
        return cls(dict(kept["options"]), list(kept["domains"]), list(kept["scope"]))

    def to_json(self) -> dict[str, Any]:
        """As kept in the task's state."""
        return {"options": self.options, "domains": self.domains, "scope": self.scope}

    def changed(self, before: Evaluation) -> list[str]:
        """What differs from ``before``, in words a message can list."""
        names = [key for key in EVALUATED if self.options.get(key) != before.options.get(key)]
        if self.domains != before.domains and "domains" not in names:
            names.append("the organization's domains")
        if self.scope != before.scope:
            names.append("the task's scope")
        return names

    def widened(self, before: Evaluation) -> str | None:
        """Why the store may lack users these settings take in (None: it holds them all)."""
        new_domains = sorted(set(self.domains) - set(before.domains))
        if new_domains:
            return f"addresses in {', '.join(new_domains)} are now synced"
        for key, why in _TURNED_ON.items():
            if self.options.get(key) and not before.options.get(key):
                return why
        old_rules = before.options.get("rules") or []
        if self.options.get("rules") != old_rules and any(r.get("exclude") for r in old_rules):
            return "the rules changed where rules excluded users"
        if self.scope != before.scope:
            return "the task's scope changed"
        return None


def what_changed(current: Evaluation, before: Evaluation | None) -> tuple[str | None, str | None]:
    """(why a full read is needed, why the stored mailboxes must be evaluated again); both
    None when the store reflects ``current``."""
    if before is None:
        return "no evaluation of the definition's options was recorded", None
    if current == before:
        return None, None
    changed = ", ".join(current.changed(before))
    widened = current.widened(before)
    if widened is not None:
        return f"the definition's options changed ({changed}): {widened}", None
    return None, f"the definition's options changed ({changed})"
