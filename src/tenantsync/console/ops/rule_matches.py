"""How many stored mailboxes each filter rule would route: the rule builder's live count.

The rules run as user sync runs them (first match wins, `engine/user_sync/rules.py`) over
the stored mailboxes rebuilt from what the store keeps of their source (the same rebuild
a re-evaluation without a read uses), so a count needs no source read.

Rules read few fields, and many mailboxes share their values (a department, a user type),
so the database groups the mailboxes by the fields the rules read and each distinct
combination is routed once, weighted by how many mailboxes have it. Rules on group
membership route each mailbox with its groups.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from tenantsync.engine.user_sync.desired import user_from_row
from tenantsync.engine.user_sync.options import FilterRule, rule_problem
from tenantsync.engine.user_sync.rules import GroupIndex, RuleSet
from tenantsync.model import MailboxKind
from tenantsync.store.models import Mailbox, SourceGroup, SourceGroupClosure

# Rule field -> the key user_from_row reads from a stored mailbox's attributes.
_ATTRIBUTE_OF = {
    "assignedLicenses": "license_skus",
    "companyName": "company_name",
    "givenName": "given_name",
    "mail": "mail",
    "mailEnabled": "mail_enabled",
    "userType": "user_type",
    "surname": "surname",
    "proxyAddresses": "proxy_addresses",
    "userPrincipalName": "user_principal_name",
    "department": "department",
    "jobTitle": "job_title",
}
_LISTS = {"license_skus", "proxy_addresses"}
# Fields whose values are (nearly) every mailbox's own: grouping by them saves nothing.
_UNIQUE = {"id", "mail", "userPrincipalName", "displayName", "proxyAddresses"}


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


def _stored_value(key: str, raw: Any) -> Any:
    """An attribute as the database gave it back, as the mailbox's JSON holds it."""
    if raw is None:
        return None
    if key in _LISTS:
        return json.loads(raw) if isinstance(raw, str) else raw
    if key == "mail_enabled":
        return raw in (True, 1, "1", "true")
    return raw


def count_matches(session: Session, org_id: int, raw_rules: list[dict[str, Any]]) -> Matches:
    """Route every stored mailbox of the organization through the rules; count by rule."""
    rules = _compiled(raw_rules)
    usable = [r for r in rules if r is not None]
    groups = session.execute(
        select(SourceGroup.id, SourceGroup.source_id, SourceGroup.name).where(
            SourceGroup.organization_id == org_id, SourceGroup.deleted_at.is_(None)
        )
    ).all()
    ruleset = RuleSet(usable, GroupIndex.build((sid, name) for _, sid, name in groups))
    fields = sorted({r.field for r in usable})
    keys = [_ATTRIBUTE_OF[f] for f in fields if f in _ATTRIBUTE_OF]
    by_member = "memberOf" in fields
    columns: list[Any] = [
        Mailbox.enabled if "accountEnabled" in fields else Mailbox.enabled.is_(True),
        Mailbox.display_name if "displayName" in fields else Mailbox.kind,
        Mailbox.source_id if "id" in fields or by_member else Mailbox.kind,
        Mailbox.id if by_member else Mailbox.kind,
        *(Mailbox.attributes[k].as_string() for k in keys),
    ]
    live = (
        Mailbox.organization_id == org_id,
        Mailbox.deleted_at.is_(None),
        Mailbox.kind != MailboxKind.GROUP,
    )
    connection = session.connection()  # plain rows: no ORM bookkeeping for 100,000 of them
    if by_member or set(fields) & _UNIQUE:  # nothing to group: each mailbox counts once
        grouped = connection.execute(select(*columns, literal(1)).where(*live)).all()
    else:
        grouped = connection.execute(
            select(*columns, func.count()).where(*live).group_by(*columns)
        ).all()
    member_of = _memberships(session, org_id, groups) if by_member else {}
    position = {id(r): i for i, r in enumerate(rules) if r is not None}
    counts: list[int | None] = [None if r is None else 0 for r in rules]
    unmatched = total = 0
    for enabled, name, source_id, mailbox_id, *values, weight in grouped:
        total += weight
        attributes = {k: _stored_value(k, v) for k, v in zip(keys, values, strict=True)}
        user = user_from_row(
            str(source_id or mailbox_id or ""),
            name if isinstance(name, str) else "",
            bool(enabled),
            None,
            {k: v for k, v in attributes.items() if v is not None},
        )
        index = ruleset.first_match(user, member_of.get(mailbox_id, frozenset()))
        if index is None:
            unmatched += weight
        else:
            slot = position[id(usable[index])]
            counts[slot] = (counts[slot] or 0) + weight
    return Matches(counts, unmatched, total)


def _memberships(session: Session, org_id: int, groups: Iterable[Any]) -> dict[int, frozenset[str]]:
    """Each mailbox's groups (transitively) by their source ids."""
    source_of = {gid: sid for gid, sid, _ in groups}
    closure = select(SourceGroupClosure.mailbox_id, SourceGroupClosure.group_id).where(
        SourceGroupClosure.group_id.in_(
            select(SourceGroup.id).where(SourceGroup.organization_id == org_id)
        )
    )
    found: dict[int, set[str]] = {}
    for mailbox_id, group_id in session.execute(closure):
        if group_id in source_of:
            found.setdefault(mailbox_id, set()).add(source_of[group_id])
    return {k: frozenset(v) for k, v in found.items()}
