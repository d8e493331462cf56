"""A run at any size: its summary in words, its plan entries and removals to confirm, each
read one page at a time by the database, and the filter its tabs share (its change records:
``change_log``).

A run of 100,000 changes keeps them as change records, and its plan (counts of every kind
and the first entries) and removal keys as JSON documents on the run. Nothing here loads a
whole document: counts come from the plan's ``counts`` member, plan entries and removal keys
are paged by the database's own JSON functions (``json_each`` on SQLite,
``json_array_elements`` on PostgreSQL).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from tenantsync.console.ops.grant_data import GRANT_ENTITY, sees_grants
from tenantsync.console.ops.paging import Page
from tenantsync.model.directory import is_billable
from tenantsync.store.models import MailboxKind, Run, RunStatus

if TYPE_CHECKING:  # annotations only: importing auth would load FastAPI
    from tenantsync.console.auth import Principal

PER_PAGE_CHOICES = (25, 50, 100, 200)
TABS = ("changes", "plan", "messages", "removals")

_NOUNS = {
    "mailbox": ("mailbox", "mailboxes"),
    "source_group": ("source group", "source groups"),
    "policy_group": ("policy group", "policy groups"),
    "delegate_grant": ("delegate grant", "delegate grants"),
}
_DONE = {
    "add": "added",
    "remove": "removed",
    "update": "updated",
    "restore": "restored",
    "move": "moved",
    "purge": "purged",
    "expire": "expired",
}


# Removals first: they are what an administrator looks for in a run.
_ORDER = {action: i for i, action in enumerate(("remove", "purge", "add", "restore", "move"))}


@dataclass(frozen=True)
class EntryFilter:
    """How changes, plan entries and removals are narrowed: exact action and entity, and a
    piece of the address (key), case-insensitively."""

    action: str = ""
    entity: str = ""
    address: str = ""

    @property
    def active(self) -> bool:
        """Whether anything is narrowed."""
        return bool(self.action or self.entity or self.address)


@dataclass(frozen=True)
class PlanHead:
    """What a run's plan says about itself without its entries."""

    counts: dict[str, int]
    total: int | None
    truncated: bool
    moved_to: dict[str, int]

    def kinds(self) -> list[tuple[str, str]]:
        """Every (entity, action) the plan counts, sorted."""
        pairs = [tuple(str(k).rsplit(".", 1)) for k in self.counts if "." in str(k)]
        return sorted((p[0], p[1]) for p in pairs)

    @property
    def may_hold_grants(self) -> bool:
        """Whether the run may have planned or changed delegate grants (a plan that counts
        none of them has none; a run without a plan counts as one that may)."""
        return not self.counts or any(k.startswith(f"{GRANT_ENTITY}.") for k in self.counts)

    def actions(self) -> list[str]:
        """The actions the plan counts (the filter's choices)."""
        return sorted({action for _, action in self.kinds()})

    def entities(self) -> list[str]:
        """The entities the plan counts (the filter's choices)."""
        return sorted({entity for entity, _ in self.kinds()})


def plan_head(session: Session, run_id: int) -> PlanHead:
    """The plan's counts, total, whether its entries were cut and the moves by policy group
    (its entries not read)."""
    plan = Run.plan
    row = session.execute(
        select(plan["counts"], plan["total"], plan["truncated"], plan["moved_to"]).where(
            Run.id == run_id
        )
    ).one()
    counts = row[0] if isinstance(row[0], dict) else {}
    total = row[1] if isinstance(row[1], int) else None
    moves = row[3] if isinstance(row[3], dict) else {}
    return PlanHead(
        {str(k): int(v) for k, v in counts.items()},
        total,
        bool(row[2]),
        {str(k): int(v) for k, v in moves.items()},
    )


def summary_words(head: PlanHead, applied: bool) -> list[str]:
    """The plan in words: "55 mailboxes removed", "3 mailboxes moved to Sales" (or "to
    remove" for a plan not applied)."""
    words: list[str] = []
    for entity, action in sorted(head.kinds(), key=lambda k: (_ORDER.get(k[1], len(_ORDER)), k)):
        count = head.counts.get(f"{entity}.{action}", 0)
        if not count:
            continue
        moves = head.moved_to
        if entity == "mailbox" and action == "move" and moves and sum(moves.values()) == count:
            for group, n in sorted(moves.items(), key=lambda kv: (-kv[1], kv[0])):
                words.append(f"{_phrase(entity, 'move', n, applied)} to {group}")
            continue
        words.append(_phrase(entity, action, count, applied))
    return words


def _phrase(entity: str, action: str, count: int, applied: bool) -> str:
    one, many = _NOUNS.get(entity, (entity.replace("_", " "), entity.replace("_", " ") + "s"))
    noun = one if count == 1 else many
    if applied:
        return f"{count:,} {noun} {_DONE.get(action, action)}"
    return f"{count:,} {noun} to {action}"


def field_changes(before: Any, after: Any) -> list[tuple[str, str, str]]:
    """(field, before, after) for every field either side names, unchanged ones left out."""
    old = before if isinstance(before, dict) else {}
    new = after if isinstance(after, dict) else {}
    rows = []
    for name in sorted(set(old) | set(new)):
        if name in old and name in new and old[name] == new[name]:
            continue
        rows.append((name, _shown(old.get(name)), _shown(new.get(name))))
    return rows


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def hides_grants(session: Session, run_id: int, viewer: Principal) -> bool:
    """Whether ``viewer`` must be kept from delegate grants this run may hold (checking
    each of 100,000 records for grants is left out for runs whose plan counts none)."""
    return not sees_grants(viewer) and plan_head(session, run_id).may_hold_grants


def contains_pattern(address: str) -> str:
    """A LIKE pattern (escape ``\\``) for keys that contain ``address``, lower-cased."""
    escaped = address.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# One statement per dialect and purpose: the entries of a JSON array on the run, narrowed
# (SQLite's LIKE ignores case; PostgreSQL's compares lower-cased keys).
_PLAN_FROM = {
    "sqlite": (
        "FROM run, json_each(run.plan, '$.changes') AS e WHERE run.id = :run_id"
        " AND (:action = '' OR json_extract(e.value, '$.action') = :action)"
        " AND (:entity = '' OR json_extract(e.value, '$.entity') = :entity)"
        " AND (:any_key OR json_extract(e.value, '$.key') LIKE :like ESCAPE '\\')"
        " AND (:grants OR coalesce(json_extract(e.value, '$.entity'), '') != :grant_entity)"
    ),
    "postgresql": (
        "FROM run, json_array_elements(run.plan -> 'changes') AS e WHERE run.id = :run_id"
        " AND (:action = '' OR e ->> 'action' = :action)"
        " AND (:entity = '' OR e ->> 'entity' = :entity)"
        " AND (:any_key OR lower(e ->> 'key') LIKE :like ESCAPE '\\')"
        " AND (:grants OR coalesce(e ->> 'entity', '') != :grant_entity)"
    ),
}
_PLAN_VALUE = {"sqlite": "e.value", "postgresql": "e"}
_REVIEW_FROM = {
    "sqlite": (
        "FROM run, json_each(CASE WHEN json_type(run.review) = 'array' THEN run.review"
        " ELSE '[]' END) AS e"
        " LEFT JOIN mailbox m ON m.organization_id = :org AND m.primary_address = e.value"
        " WHERE run.id = :run_id AND (:any_key OR e.value LIKE :like ESCAPE '\\')"
    ),
    "postgresql": (
        "FROM run, json_array_elements_text(CASE WHEN json_typeof(run.review) = 'array'"
        " THEN run.review ELSE '[]'::json END) AS e(value)"
        " LEFT JOIN mailbox m ON m.organization_id = :org AND m.primary_address = e.value"
        " WHERE run.id = :run_id AND (:any_key OR lower(e.value) LIKE :like ESCAPE '\\')"
    ),
}


def dialect_of(session: Session) -> str:
    """The session's database, as this module's statements are keyed (SQLite otherwise)."""
    name = session.get_bind().dialect.name
    return name if name in _PLAN_FROM else "sqlite"


def _count(session: Session, where: str, params: dict[str, Any]) -> int:
    return int(session.execute(text(f"SELECT count(*) {where}"), params).scalar() or 0)


def _window(page: int, per_page: int) -> tuple[int, int]:
    per_page = max(1, min(per_page, max(PER_PAGE_CHOICES)))
    return max(1, page), per_page


def plan_page(
    session: Session, run_id: int, f: EntryFilter, page: int, per_page: int, viewer: Principal
) -> Page[dict[str, Any]]:
    """One page of the entries the run's plan keeps, matching ``f``, that ``viewer`` may see."""
    page, per_page = _window(page, per_page)
    dialect = dialect_of(session)
    where = _PLAN_FROM[dialect]
    params = {
        "run_id": run_id,
        "action": f.action,
        "entity": f.entity,
        "like": contains_pattern(f.address),
        "any_key": not f.address,
        "grants": not hides_grants(session, run_id, viewer),
        "grant_entity": GRANT_ENTITY,
        "limit": per_page,
        "offset": (page - 1) * per_page,
    }
    total = _count(session, where, params)
    values = session.execute(
        text(f"SELECT {_PLAN_VALUE[dialect]} {where} LIMIT :limit OFFSET :offset"),
        params,
    ).scalars()
    items = [v if isinstance(v, dict) else json.loads(v) for v in values]
    return Page(items, total, page, per_page)


def with_fields(found: Page[dict[str, Any]]) -> Page[dict[str, Any]]:
    """Plan entries with each field that changes, before → after, as ``fields``."""
    for item in found.items:
        item["fields"] = field_changes(item.get("before"), item.get("after"))
    return found


def hidden_plan_entries(session: Session, run_id: int, viewer: Principal) -> int:
    """How many of the plan's kept entries ``viewer`` may not see (delegate grants)."""
    if not hides_grants(session, run_id, viewer):
        return 0
    where = _PLAN_FROM[dialect_of(session)]
    params = {
        "run_id": run_id,
        "action": "",
        "entity": GRANT_ENTITY,
        "like": "",
        "any_key": True,
        "grants": True,
        "grant_entity": GRANT_ENTITY,
    }
    return _count(session, where, params)


@dataclass(frozen=True)
class Removal:
    """One removal a threshold stop asks to confirm; kind and billable when it is a mailbox."""

    key: str
    kind: str | None
    billable: bool | None


@dataclass(frozen=True)
class Impact:
    """What confirming a threshold stop removes: how many, of which kinds, how many bill."""

    total: int
    by_entity: dict[str, int]
    by_kind: dict[str, int]
    billable: int


def impact(session: Session, run: Run) -> Impact:
    """The removals of a stopped run, counted by kind and billable (mailboxes as stored now:
    nothing was removed yet)."""
    head = plan_head(session, run.id)
    by_entity = {
        entity: head.counts[f"{entity}.remove"]
        for entity, action in head.kinds()
        if action == "remove" and head.counts.get(f"{entity}.remove")
    }
    where = _REVIEW_FROM[dialect_of(session)]
    params = {"run_id": run.id, "org": run.task.organization_id, "like": "", "any_key": True}
    rows = session.execute(
        text(
            "SELECT m.kind, m.licensed, m.enabled, m.deleted_at IS NULL, count(*) "
            f"{where} GROUP BY m.kind, m.licensed, m.enabled, m.deleted_at IS NULL"
        ),
        params,
    ).all()
    total = bills = 0
    by_kind: dict[str, int] = {}
    for kind, licensed, enabled, live, count in rows:
        total += count
        if kind is None:
            continue
        by_kind[str(kind)] = by_kind.get(str(kind), 0) + count
        bills += count if _bills(kind, licensed, enabled, live) else 0
    return Impact(total, by_entity, dict(sorted(by_kind.items())), bills)


def _bills(kind: Any, licensed: Any, enabled: Any, live: Any) -> bool:
    return is_billable(
        MailboxKind(kind), licensed=bool(licensed), enabled=bool(enabled), removed=not live
    )


def removal_page(
    session: Session, run: Run, address: str, page: int, per_page: int
) -> Page[Removal]:
    """One page of the removal keys a stopped run asks to confirm, in the order planned."""
    page, per_page = _window(page, per_page)
    where = _REVIEW_FROM[dialect_of(session)]
    params = {
        "run_id": run.id,
        "org": run.task.organization_id,
        "like": contains_pattern(address),
        "any_key": not address,
        "limit": per_page,
        "offset": (page - 1) * per_page,
    }
    total = _count(session, where, params)
    rows = session.execute(
        text(
            "SELECT e.value, m.kind, m.licensed, m.enabled, m.deleted_at IS NULL "
            f"{where} LIMIT :limit OFFSET :offset"
        ),
        params,
    ).all()
    items = [
        Removal(
            str(key),
            None if kind is None else str(kind),
            None if kind is None else _bills(kind, lic, on, live),
        )
        for key, kind, lic, on, live in rows
    ]
    return Page(items, total, page, per_page)


def removal_count(session: Session, run: Run) -> int:
    """How many removals a stopped run asks to confirm (counted by the database)."""
    where = _REVIEW_FROM[dialect_of(session)]
    params = {"run_id": run.id, "org": run.task.organization_id, "like": "", "any_key": True}
    return _count(session, where, params)


def awaiting_count(session: Session) -> int:
    """How many runs wait for a super administrator to confirm their removals."""
    stmt = select(func.count()).where(Run.status == RunStatus.AWAITING_CONFIRMATION)
    return int(session.scalar(stmt) or 0)
