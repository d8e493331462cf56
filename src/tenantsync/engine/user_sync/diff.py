"""Comparing desired mailbox rows with the store: the plan and the work to apply it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tenantsync.engine.plan import Change, Plan
from tenantsync.engine.user_sync.desired import MailboxRow
from tenantsync.engine.user_sync.state import StoredMailbox, StoreView
from tenantsync.model import MailboxKind, is_billable

COMPARED = ("primary_address", "display_name", "kind", "licensed", "enabled", "dn")
# Where a mailbox lives: compared only when the read said it exactly (see MailboxRow).
PLACEMENT = ("location", "recipient_type")


@dataclass
class MailboxWork:
    """What apply does to mailbox rows, decided by :class:`MailboxDiff`."""

    plan: Plan = field(default_factory=Plan)
    adds: list[MailboxRow] = field(default_factory=list)
    updates: list[tuple[StoredMailbox, MailboxRow]] = field(default_factory=list)
    restores: list[tuple[StoredMailbox, MailboxRow]] = field(default_factory=list)
    removals: list[tuple[StoredMailbox, str]] = field(default_factory=list)
    new_policy_groups: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    non_billable: int = 0
    synced: dict[str, MailboxRow] = field(default_factory=dict)
    policy: dict[str, str | None] = field(default_factory=dict)
    purges: set[int] = field(default_factory=set)


class MailboxDiff:
    """Collects decisions user by user and turns them into changes."""

    def __init__(
        self, view: StoreView, *, task_id: int, rules_active: bool, may_purge: bool = True
    ) -> None:
        self.view = view
        self.task_id = task_id
        self.rules_active = rules_active
        self.may_purge = may_purge
        self.work = MailboxWork()
        self._seen: set[str] = set()

    def keep(self, row: MailboxRow) -> None:
        """The source says this mailbox should exist as ``row``."""
        self._seen.add(row.source_id)
        stored = self.view.mailboxes.get(row.source_id)
        if stored is not None and not self._ours(stored):
            self.work.warnings.append(f"{row.primary_address}: synced by another task; left alone")
            return
        conflict = self._conflict(row)
        if conflict:
            self.work.warnings.append(conflict)
            return
        self._hold(row)
        self.work.synced[row.source_id] = row
        if stored is None:
            self._add(row)
        elif stored.deleted_at is not None:
            self._restore(stored, row)
        else:
            self._update(stored, row)

    def drop(self, source_id: str, reason: str, *, group: bool | None = None) -> None:
        """The source says this mailbox should not be synced (any more).

        ``group`` limits the removal to group addresses (True) or to mailboxes (False): a
        removal reported for a group never removes a user's mailbox, and the reverse.
        """
        self._seen.add(source_id)
        stored = self.view.mailboxes.get(source_id)
        if stored is None or stored.deleted_at is not None or not self._ours(stored):
            return
        if group is not None and (stored.kind is MailboxKind.GROUP) != group:
            return
        self._remove(stored, reason)

    def drop_unseen(self, reason: str, *, groups: bool) -> None:
        """Remove every owned mailbox (users, or group addresses) the read did not mention."""
        for sid, stored in self.view.mailboxes.items():
            if sid in self._seen or stored.deleted_at is not None or not self._ours(stored):
                continue
            if (stored.kind is MailboxKind.GROUP) == groups:
                self._remove(stored, reason)

    def seen(self, source_id: str) -> bool:
        """Whether a decision was taken for this source id already."""
        return source_id in self._seen

    def _ours(self, stored: StoredMailbox) -> bool:
        return stored.owner_task_id in (None, self.task_id)

    def _conflict(self, row: MailboxRow) -> str | None:
        stored = self.view.mailboxes.get(row.source_id)
        for address in (row.primary_address, *row.aliases):
            holder = self.view.holders.get(address)
            if holder is not None and holder != row.source_id:
                return f"{address}: already the address of another mailbox; {row.source_id} skipped"
            removed = self.view.removed_holders.get(address)
            own = stored is not None and stored.id == removed
            if removed is not None and not own and not self.may_purge:
                return (
                    f"{address}: still the address of a removed mailbox and the read was "
                    f"incomplete; {row.source_id} waits for the next run"
                )
        return None

    def _hold(self, row: MailboxRow) -> None:
        stored = self.view.mailboxes.get(row.source_id)
        for address in (row.primary_address, *row.aliases):
            self.view.holders[address] = row.source_id
            # A removed mailbox still holding the address gives way to the new one for good
            # (a re-created account): its restore window ends now.
            old = self.view.removed_holders.pop(address, None)
            if old is None or old in self.work.purges or (stored and stored.id == old):
                continue
            self.work.purges.add(old)
            self.work.removals = [r for r in self.work.removals if r[0].id != old]
            self.work.plan.add(
                Change(
                    "purge",
                    "mailbox",
                    address,
                    f"removed mailbox gives its address to {row.source_id}",
                    {"id": old},
                )
            )

    def _policy_group(self, row: MailboxRow, stored: StoredMailbox | None) -> str | None:
        if row.kind is MailboxKind.GROUP:
            return None
        if row.policy_group is None:
            if stored is not None and not self.rules_active:
                return self.view.policy_group_name(stored.policy_group_id)
            return self.view.policy_group_name(self.view.default_policy_group)
        if (
            row.policy_group not in self.view.policy_groups
            and row.policy_group not in self.work.new_policy_groups
        ):
            self.work.new_policy_groups.append(row.policy_group)
            self.work.plan.add(
                Change("add", "policy_group", row.policy_group, "named by a filter rule")
            )
        return row.policy_group

    def _add(self, row: MailboxRow) -> None:
        target = self.work.policy[row.source_id] = self._policy_group(row, None)
        after = _row_json(row) | {"policy_group": target}
        if not row.billable and row.kind is not MailboxKind.GROUP:
            self.work.non_billable += 1
        reason = "new in the source" + (f"; {row.reason}" if row.reason else "")
        self.work.plan.add(Change("add", "mailbox", row.primary_address, reason, None, after))
        self.work.adds.append(row)

    def _restore(self, stored: StoredMailbox, row: MailboxRow) -> None:
        before = {"deleted_at": str(stored.deleted_at), "restore_until": str(stored.restore_until)}
        target = self.work.policy[row.source_id] = self._policy_group(row, stored)
        after = _row_json(row) | {"policy_group": target}
        self.work.plan.add(
            Change(
                "restore",
                "mailbox",
                row.primary_address,
                "back in the source within the restore window",
                before,
                after,
            )
        )
        self.work.restores.append((stored, row))

    def _update(self, stored: StoredMailbox, row: MailboxRow) -> None:
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        new = _row_json(row)
        old = _stored_json(stored)
        for key in (*COMPARED, "aliases"):
            if new[key] != old[key]:
                before[key], after[key] = old[key], new[key]
        if row.exchange_guid is not None and row.exchange_guid != stored.exchange_guid:
            before["exchange_guid"], after["exchange_guid"] = (
                stored.exchange_guid,
                row.exchange_guid,
            )
        learnt = self._placement(stored, row, new, old, before, after)
        changed_attributes = row.attributes != stored.attributes or learnt
        if before:
            billable_before = _billable(stored)
            if billable_before != row.billable:
                before["billable"], after["billable"] = billable_before, row.billable
                if not row.billable:
                    after["non_billable_reason"] = row.non_billable_reason
                    self.work.non_billable += 1
            self.work.plan.add(
                Change(
                    "update",
                    "mailbox",
                    row.primary_address,
                    "changed in the source: " + ", ".join(sorted(after)),
                    before,
                    after,
                )
            )
        target = self.work.policy[row.source_id] = self._policy_group(row, stored)
        current = self.view.policy_group_name(stored.policy_group_id)
        if target != current:
            self.work.plan.add(
                Change(
                    "move",
                    "mailbox",
                    row.primary_address,
                    row.reason or "default policy group",
                    {"policy_group": current},
                    {"policy_group": target},
                )
            )
        if before or changed_attributes or target != current:
            self.work.updates.append((stored, row))

    @staticmethod
    def _placement(
        stored: StoredMailbox,
        row: MailboxRow,
        new: dict[str, Any],
        old: dict[str, Any],
        before: dict[str, Any],
        after: dict[str, Any],
    ) -> bool:
        """Add a change of where the mailbox lives to ``before``/``after``; True when only a
        recipient type never stored before was learnt (written, but no change in the source)."""
        if not row.placed:
            return False
        moved = new["location"] != old["location"]
        retyped = bool(new["recipient_type"] != old["recipient_type"])
        if moved or (retyped and stored.recipient_type is not None):
            for key in PLACEMENT:
                if new[key] != old[key]:
                    before[key], after[key] = old[key], new[key]
            return False
        return retyped

    def _remove(self, stored: StoredMailbox, reason: str) -> None:
        for address in (stored.primary_address, *stored.aliases):
            if self.view.holders.get(address) == stored.source_id:
                del self.view.holders[address]
                self.view.removed_holders[address] = stored.id
        self.work.plan.add(
            Change(
                "remove",
                "mailbox",
                stored.primary_address,
                reason,
                {"kind": stored.kind.value, "source_id": stored.source_id},
                None,
            )
        )
        self.work.removals.append((stored, reason))


def _billable(stored: StoredMailbox) -> bool:
    return is_billable(stored.kind, licensed=stored.licensed, enabled=stored.enabled)


def _row_json(row: MailboxRow) -> dict[str, Any]:
    data: dict[str, Any] = {
        "primary_address": row.primary_address,
        "display_name": row.display_name,
        "kind": row.kind.value,
        "licensed": row.licensed,
        "enabled": row.enabled,
        "dn": row.dn,
        "aliases": sorted(row.aliases),
        "location": row.location.value,
        "recipient_type": row.recipient_type,
        "billable": row.billable,
    }
    if not row.billable:
        data["non_billable_reason"] = row.non_billable_reason
    return data


def _stored_json(stored: StoredMailbox) -> dict[str, Any]:
    return {
        "primary_address": stored.primary_address,
        "display_name": stored.display_name,
        "kind": stored.kind.value,
        "licensed": stored.licensed,
        "enabled": stored.enabled,
        "dn": stored.dn,
        "aliases": sorted(stored.aliases),
        "location": stored.location.value,
        "recipient_type": stored.recipient_type,
    }
