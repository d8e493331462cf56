"""How many stored mailboxes each filter rule would route: the rule builder's live count.

The rules run as user sync runs them (first match wins, `engine/user_sync/rules.py`) over
the stored mailboxes rebuilt from what the store keeps of their source (the same rebuild
a re-evaluation without a read uses), so a count needs no source read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.engine.user_sync.desired import user_from_row
from tenantsync.engine.user_sync.options import FilterRule, rule_problem
from tenantsync.engine.user_sync.rules import GroupIndex, RuleSet
from tenantsync.model import MailboxKind
from tenantsync.store.models import Mailbox, SourceGroup, SourceGroupClosure


@dataclass(frozen=True)
class Matches:
    """Mailboxes routed by each rule (None: the rule is not complete yet), and by none."""

    per_rule: list[int | None]
    unmatched: int
    total: int

    def to_json(self) -> dict[str, Any]:
        """As the count endpoint answers it."""
        return {"rules": self.per_rule, "unmatched": self.unmatched, "total": self.total}


def _compiled(raw: list[dict[str, Any]]) -> list[FilterRule | None]:
    out: list[FilterRule | None] = []
    for rule in raw:
        try:
            parsed = FilterRule.model_validate(rule)
        except ValidationError:
            out.append(None)
            continue
        out.append(None if rule_problem(parsed) else parsed)
    return out


def count_matches(session: Session, org_id: int, raw_rules: list[dict[str, Any]]) -> Matches:
    """Route every stored mailbox of the organization through the rules; count by rule."""
    rules = _compiled(raw_rules)
    usable = [r for r in rules if r is not None]
    groups = session.execute(
        select(SourceGroup.id, SourceGroup.source_id, SourceGroup.name).where(
            SourceGroup.organization_id == org_id, SourceGroup.deleted_at.is_(None)
        )
    ).all()
    source_of = {gid: sid for gid, sid, _ in groups}
    member_of: dict[int, set[str]] = {}
    if any(r.field == "memberOf" for r in usable):
        closure = select(SourceGroupClosure.mailbox_id, SourceGroupClosure.group_id).where(
            SourceGroupClosure.group_id.in_(
                select(SourceGroup.id).where(SourceGroup.organization_id == org_id)
            )
        )
        for mailbox_id, group_id in session.execute(closure):
            if group_id in source_of:
                member_of.setdefault(mailbox_id, set()).add(source_of[group_id])
    ruleset = RuleSet(usable, GroupIndex.build((sid, name) for _, sid, name in groups))
    position = {id(r): i for i, r in enumerate(rules) if r is not None}
    counts: list[int | None] = [None if r is None else 0 for r in rules]
    unmatched = total = 0
    rows = session.execute(
        select(
            Mailbox.id,
            Mailbox.source_id,
            Mailbox.display_name,
            Mailbox.enabled,
            Mailbox.source_dn,
            Mailbox.attributes,
        ).where(
            Mailbox.organization_id == org_id,
            Mailbox.deleted_at.is_(None),
            Mailbox.kind != MailboxKind.GROUP,
        )
    )
    for mailbox_id, source_id, name, enabled, dn, attributes in rows:
        total += 1
        user = user_from_row(source_id or str(mailbox_id), name, enabled, dn, attributes or {})
        index = ruleset.first_match(user, frozenset(member_of.get(mailbox_id, ())))
        if index is None:
            unmatched += 1
        else:
            slot = position[id(usable[index])]
            counts[slot] = (counts[slot] or 0) + 1
    return Matches(counts, unmatched, total)
