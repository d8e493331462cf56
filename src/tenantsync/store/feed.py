"""The change feed: an organization's change records in commit order, numbered gaplessly.

Every change record of a directory entity (mailboxes with their addresses, source groups,
policy groups, delegate grants) gets the organization's next feed number
(``change_record.feed_seq``) in the transaction that writes it. The number comes from the
organization's ``change_feed`` row, which that transaction updates last and holds locked
until it commits (PostgreSQL's row lock; SQLite has one writer anyway): a transaction
that numbers changes of the same organization waits for it. So numbers are given in commit
order, a rolled-back transaction gives its numbers back, and a reader that has seen number
``n`` has seen every committed change up to ``n``.

The feed is read from the change records themselves: one write per change, not two. Run
history is pruned (housekeeping, a task deleted with its runs), so the feed keeps a
retention horizon: pruning raises it to the last number it removed, and a cursor below it
(or one across a hole) is answered with "resync needed", naming the oldest cursor from
which the retained history is whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from tenantsync.store.models import ChangeFeed, ChangeRecord, Run

# Which change records are part of the feed (calendar replicas and run purges are not).
FEED_ENTITIES = frozenset({"mailbox", "source_group", "policy_group", "delegate_grant"})
GRANT_ENTITY = "delegate_grant"
MAX_LIMIT = 1000
# A feed event's columns, in FeedEvent's order (plain rows: no ORM objects to build).
_COLUMNS = (
    ChangeRecord.feed_seq,
    ChangeRecord.at,
    ChangeRecord.entity,
    ChangeRecord.action,
    ChangeRecord.key,
    ChangeRecord.before,
    ChangeRecord.after,
    ChangeRecord.run_id,
    ChangeRecord.actor,
)


class Numbering:
    """Feed numbers for one transaction's changes of one organization.

    Made before the changes are written (a COPY holds the connection meanwhile): it locks
    the organization's feed row until the transaction ends; :meth:`close` stores the last
    number given.
    """

    def __init__(self, session: Session, organization_id: int | None) -> None:
        self._session = session
        self._org = organization_id
        self._start = self._last = 0 if organization_id is None else _lock(session, organization_id)

    def number(self, entity: str) -> int | None:
        """The next feed number for a change of ``entity``; None when it is not in the feed."""
        if self._org is None or entity not in FEED_ENTITIES:
            return None
        self._last += 1
        return self._last

    def close(self) -> None:
        """Store the last number given (in the caller's transaction)."""
        if self._last != self._start:
            self._session.execute(
                update(ChangeFeed)
                .where(ChangeFeed.organization_id == self._org)
                .values(last_seq=self._last)
            )


def _lock(session: Session, organization_id: int) -> int:
    """The organization's last feed number, its row locked until the transaction ends."""
    take = (
        update(ChangeFeed)
        .where(ChangeFeed.organization_id == organization_id)
        .values(last_seq=ChangeFeed.last_seq)
        .returning(ChangeFeed.last_seq)
    )
    last = session.execute(take).scalar_one_or_none()
    if last is None:
        dialect = session.get_bind().dialect.name
        insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(
            insert_fn(ChangeFeed)
            .values(organization_id=organization_id, last_seq=0, horizon=0)
            .on_conflict_do_nothing(index_elements=["organization_id"])
        )
        last = session.execute(take).scalar_one()
    return int(last)


def prune_runs(session: Session, run_ids: list[int] | Select[Any]) -> None:
    """Raise the feed horizon past the changes of runs about to be deleted (call first)."""
    if isinstance(run_ids, list) and not run_ids:
        return
    removed = session.execute(
        select(ChangeRecord.organization_id, func.max(ChangeRecord.feed_seq))
        .where(ChangeRecord.run_id.in_(run_ids), ChangeRecord.feed_seq.is_not(None))
        .group_by(ChangeRecord.organization_id)
    ).all()
    for org_id, seq in removed:
        session.execute(
            update(ChangeFeed)
            .where(ChangeFeed.organization_id == org_id, ChangeFeed.horizon < seq)
            .values(horizon=seq)
        )


def prune_task(session: Session, task_id: int) -> None:
    """Raise the feed horizon past the changes of a task about to be deleted with its runs."""
    prune_runs(session, select(Run.id).where(Run.task_id == task_id))


@dataclass(frozen=True)
class FeedEvent:
    """One change in the feed."""

    seq: int
    at: datetime
    entity: str
    action: str
    key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    run_id: int | None
    actor: str

    def to_json(self) -> dict[str, Any]:
        """The event as the API and webhooks carry it (the cursor is a string)."""
        return {
            "cursor": str(self.seq),
            "at": self.at.isoformat(),
            "entity": self.entity,
            "action": self.action,
            "key": self.key,
            "before": self.before,
            "after": self.after,
            "run_id": self.run_id,
            "actor": self.actor,
        }


@dataclass(frozen=True)
class FeedPage:
    """Events after a cursor: ``next`` to ask with next time, ``more`` when events are
    waiting past it, ``latest`` the newest cursor when read."""

    events: list[FeedEvent]
    next: int
    more: bool
    latest: int


@dataclass(frozen=True)
class ResyncNeeded:
    """The cursor is older than the retained history (or crosses a pruned stretch): read
    the lists in full, then follow from ``latest``; ``oldest`` is the oldest cursor the
    feed still answers."""

    after: int
    oldest: int
    latest: int


def position(session: Session, organization_id: int) -> tuple[int, int]:
    """The organization's (horizon, last feed number)."""
    row = session.execute(
        select(ChangeFeed.horizon, ChangeFeed.last_seq).where(
            ChangeFeed.organization_id == organization_id
        )
    ).first()
    return (int(row[0]), int(row[1])) if row is not None else (0, 0)


def read(
    session: Session,
    organization_id: int,
    after: int | None,
    limit: int,
    *,
    grants: bool,
) -> FeedPage | ResyncNeeded:
    """Up to ``limit`` feed positions after ``after`` (None: the oldest retained), in order;
    grant changes left out unless ``grants``. Positions left out still move ``next``."""
    # The position first: every number up to ``latest`` was committed before it was read.
    horizon, latest = position(session, organization_id)
    start = horizon if after is None else after
    if start < horizon or start > latest:
        return ResyncNeeded(start, _oldest_whole(session, organization_id, horizon, latest), latest)
    end = min(start + limit, latest)
    # Numbers have no gaps, so the page is the range itself: a bounded index range, whatever
    # plan the database would pick for "after n, first k" (and only what was committed by
    # the time ``latest`` was read).
    rows = session.execute(
        select(*_COLUMNS)
        .where(
            ChangeRecord.organization_id == organization_id,
            ChangeRecord.feed_seq > start,
            ChangeRecord.feed_seq <= end,
        )
        .order_by(ChangeRecord.feed_seq)
    )
    events: list[FeedEvent] = []
    expected = start
    for row in rows:
        seq = row[0]
        expected += 1
        if seq != expected:  # a hole: history pruned under the cursor
            return ResyncNeeded(
                start, _oldest_whole(session, organization_id, horizon, latest), latest
            )
        if grants or row[2] != GRANT_ENTITY:
            events.append(FeedEvent(*row))
    if expected < end:
        return ResyncNeeded(start, _oldest_whole(session, organization_id, horizon, latest), latest)
    return FeedPage(events, expected, expected < latest, latest)


def _oldest_whole(session: Session, organization_id: int, horizon: int, latest: int) -> int:
    """The oldest cursor at or past ``horizon`` from which every number to ``latest`` is kept."""
    newest = session.scalar(
        select(func.max(ChangeRecord.feed_seq)).where(
            ChangeRecord.organization_id == organization_id
        )
    )
    if newest is None or newest < latest:
        return latest  # the newest changes themselves were pruned
    earlier = aliased(ChangeRecord)
    after_hole = session.scalar(
        select(func.max(ChangeRecord.feed_seq)).where(
            ChangeRecord.organization_id == organization_id,
            ChangeRecord.feed_seq > horizon + 1,
            ~exists().where(
                earlier.organization_id == organization_id,
                earlier.feed_seq == ChangeRecord.feed_seq - 1,
            ),
        )
    )
    return horizon if after_hole is None else max(horizon, int(after_hole) - 1)
