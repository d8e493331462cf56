"""Calendar replication as a pipeline feature: scope, read each mailbox calendar (by delta,
or whole), plan replica changes per mailbox calendar, apply them with their state.

Each mailbox calendar is a part of the read: only a part that completed with proof can
remove a replica; one that did not keeps its replicas and needs attention. The pipeline
guards removals (``removal_guard_percent`` of the task's replicas beyond
``removal_guard_min``) and records the changes. Reads and plans go through spools on
disk, so memory stays flat however many mailboxes a task holds.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy.orm import Session

from tenantsync.engine.calendar.diff import (
    CALENDAR_GONE,
    MailboxPlan,
    plan_failure,
    plan_gone_calendar,
    plan_read,
)
from tenantsync.engine.calendar.options import CalendarOptions
from tenantsync.engine.calendar.outcome import CalendarReading, ReplicaPlan, Tally
from tenantsync.engine.calendar.spool import Spool
from tenantsync.engine.feature import ChangeList, Limits
from tenantsync.engine.permission_sync.directory import load_directory
from tenantsync.engine.permission_sync.scope import EmptyScope, resolve_scope
from tenantsync.engine.run import RunContext
from tenantsync.engine.sources import CalendarSource, OpenedSource
from tenantsync.model.calendar import (
    CalendarAsk,
    CalendarInfo,
    CalendarRead,
    EventItem,
    EventKind,
    RemovedReason,
)
from tenantsync.model.permissions import MailboxRef
from tenantsync.store.bulk import chunks
from tenantsync.store.calendar import (
    Held,
    StateRow,
    count_replicas,
    drop_states,
    held_keys,
    held_replicas,
    held_touching,
    load_states,
    masters_of,
    save_states,
    write_replicas,
)
from tenantsync.timeutil import utcnow

PRIMARY = CalendarInfo("primary", "Calendar", primary=True)
CHUNK = 250


class CalendarReplication:
    """The calendar replication feature."""

    def limits(self, options: Any) -> Limits:
        """Mailboxes in flight (each at most 4 requests) and calls per second."""
        assert isinstance(options, CalendarOptions)
        return Limits(options.concurrency * 4, options.rate_limit)

    def read(
        self, ctx: RunContext, source: OpenedSource, *, full: str | None = None
    ) -> CalendarReading | EmptyScope:
        """Every mailbox calendar in scope: by its delta link, or whole when it has none,
        its link expired, its reconciliation is due or the options changed."""
        options = ctx.options
        assert isinstance(options, CalendarOptions)
        task = ctx.task
        with ctx.db.session() as session:
            directory = load_directory(session, task.organization_id)
            scope = resolve_scope(
                session, task.organization_id, task.scope_kind, task.scope_value, directory
            )
        if not scope.mailboxes:
            return EmptyScope(scope)
        now = utcnow()
        reader = source.calendars(
            options.concurrency,
            page_size=options.page_size,
            attachment_content=options.attachment_content,
            attachment_cap=options.attachment_cap,
        )
        reading = CalendarReading(scope, Spool(), {}, now)
        began = time.monotonic()
        ctx.report("read", 0, len(scope.mailboxes))
        done = 0
        for batch in chunks(scope.mailboxes, CHUNK):
            ctx.check_cancelled()
            calendars = self._calendars(ctx, reader, batch, reading, options)
            asks = self._asks(ctx, batch, calendars, options, now, full)
            for read in reader.read(asks, ctx.cancel_event.is_set):
                ctx.check_cancelled()
                self._count(reading.tally, read)
                reading.reads.add(read)
            done += len(batch)
            ctx.report("read", done, len(scope.mailboxes))
        reading.seconds = time.monotonic() - began
        reading.calls = reader.calls()
        return reading

    def plan(
        self, ctx: RunContext, session: Session, reading: CalendarReading | EmptyScope
    ) -> ReplicaPlan | ChangeList:
        """Each complete read against the replicas it concerns (see diff.py)."""
        options = ctx.options
        assert isinstance(options, CalendarOptions)
        if isinstance(reading, EmptyScope):
            return reading.plan("replica")
        in_scope = [m.id for m in reading.scope.mailboxes]
        planned = ReplicaPlan(reading, Spool(), options, count_replicas(session, in_scope))
        org, task = ctx.task.organization_id, ctx.task.id
        reads = iter(reading.reads)
        dropped: set[int] = set()
        while batch := list(islice(reads, CHUNK)):
            ids = {r.mailbox.id for r in batch}
            states = load_states(session, ids)
            gone = {
                (m, k)
                for (m, k) in states
                if m in reading.listed and k not in reading.listed[m] and m not in dropped
            }
            # A mailbox's reads can fall in two batches: its dropped calendars count once.
            dropped.update(m for m, _ in gone)
            # Replicas are loaded only where a read can change them: a round that brought
            # nothing changes only its state.
            whole = {r.mailbox.id for r in batch if r.complete and r.whole}
            whole |= {m for m, _ in gone}
            held = held_replicas(session, whole)
            touched: dict[int, set[str]] = {}
            for r in batch:
                if r.complete and r.mailbox.id not in whole and _changes_something(r):
                    touched.setdefault(r.mailbox.id, set()).update(_named(r))
            for mid, found in held_touching(session, touched).items():
                held.setdefault(mid, {}).update(found)
            masters = self._masters(session, held, batch)
            for read in batch:
                previous = states.get((read.mailbox.id, read.calendar.key))
                if read.complete:
                    plan = plan_read(
                        read,
                        held.get(read.mailbox.id, {}),
                        masters,
                        previous,
                        options,
                        organization_id=org,
                        task_id=task,
                        now=reading.now,
                    )
                else:
                    plan = plan_failure(
                        read, previous, options, organization_id=org, task_id=task, now=reading.now
                    )
                self._keep(planned, plan, previous is not None)
            for mid, key in sorted(gone):
                address = next(r.mailbox.address for r in batch if r.mailbox.id == mid)
                self._keep(planned, plan_gone_calendar(mid, address, key, held.get(mid, {})), False)
        return planned

    def apply(self, ctx: RunContext, session: Session, planned: ReplicaPlan | ChangeList) -> None:
        """Write every mailbox calendar's replicas with its state (the caller's transaction:
        a delta link is kept only with the changes it produced)."""
        if not isinstance(planned, ReplicaPlan):
            return
        plans = iter(planned.plans)
        while batch := list(islice(plans, CHUNK)):
            write_replicas(
                session,
                inserts=(row for p in batch for row in p.inserts),
                updates=[row for p in batch for row in p.updates],
                deletes=[r.row_id for p in batch for r in p.removals],
            )
            gone = [(p.mailbox_id, p.calendar_key) for p in batch if p.drop_state]
            kept = [p for p in batch if not p.drop_state]
            drop_states(session, gone)
            known = {(p.mailbox_id, p.calendar_key) for p in kept if p.known}
            save_states(session, [p.state for p in kept], known=known)
        # The spools stay open: the pipeline reads the plan's changes after apply (their
        # files go when the plan does).

    # ---- helpers -------------------------------------------------------------------------
    def _calendars(
        self,
        ctx: RunContext,
        reader: CalendarSource,
        batch: list[MailboxRef],
        reading: CalendarReading,
        options: CalendarOptions,
    ) -> dict[int, list[CalendarInfo]]:
        if options.calendars == "default":
            for mailbox in batch:
                reading.listed[mailbox.id] = frozenset({PRIMARY.key})
            return {m.id: [PRIMARY] for m in batch}
        out: dict[int, list[CalendarInfo]] = {}
        for listing in reader.calendars(batch, ctx.cancel_event.is_set):
            mid = listing.mailbox.id
            if listing.failure is None:
                out[mid] = list(listing.calendars)
                reading.listed[mid] = frozenset(c.key for c in listing.calendars)
            else:
                # Read the primary calendar anyway: its failure is what the state will say.
                out[mid] = [PRIMARY]
        return out

    def _asks(
        self,
        ctx: RunContext,
        batch: list[MailboxRef],
        calendars: dict[int, list[CalendarInfo]],
        options: CalendarOptions,
        now: datetime,
        full: str | None,
    ) -> list[CalendarAsk]:
        start, end = window(now, options)
        with ctx.db.session() as session:
            ids = [m.id for m in batch]
            states = load_states(session, ids)
            held = held_keys(session, ids)
        asks = []
        for mailbox in batch:
            mine = held.get(mailbox.id, {})
            for calendar in calendars.get(mailbox.id, []):
                state = states.get((mailbox.id, calendar.key))
                whole = full is not None or _whole_needed(state, calendar, options, now)
                keys = {sid: h for sid, h in mine.items() if h[0] == calendar.key}
                asks.append(
                    CalendarAsk(
                        mailbox=mailbox,
                        calendar=calendar,
                        window_start=start if whole or state is None else _w(state, start)[0],
                        window_end=end if whole or state is None else _w(state, end)[1],
                        delta_link=None if whole or state is None else state.delta_link,
                        masters={
                            sid: change
                            for sid, (_, kind, change) in keys.items()
                            if kind is EventKind.MASTER
                        },
                        held=frozenset(
                            sid
                            for sid, (_, kind, _) in keys.items()
                            if kind is not EventKind.CANCELLED
                        ),
                        delegates=calendar.primary and (whole or state is None),
                    )
                )
        return asks

    def _count(self, tally: Tally, read: CalendarRead) -> None:
        if read.complete:
            tally.read += 1
            tally.whole += read.whole
            return
        tally.failed += 1
        tally.refused += read.refused
        tally.retryable_failures += read.retryable
        label = read.mailbox.address
        if not read.calendar.primary:
            label += f" ({read.calendar.name})"
        tally.attention.append((label, read.failure or "the read did not finish"))

    def _masters(
        self, session: Session, held: dict[int, dict[str, Held]], reads: list[CalendarRead]
    ) -> dict[str, EventItem]:
        """The stored masters of the series these reads met (an unchanged round meets none,
        so an incremental run loads only what changed)."""
        met = {(r.mailbox.id, i.source_id) for r in reads for i in r.items}
        met |= {(r.mailbox.id, o.series_id) for r in reads for o in r.occurrences}
        rows = {
            held[mid][sid].row_id: sid
            for mid, sid in met
            if sid in held.get(mid, {}) and held[mid][sid].kind is EventKind.MASTER
        }
        return {rows[row_id]: item for row_id, item in masters_of(session, list(rows)).items()}

    def _keep(self, planned: ReplicaPlan, plan: MailboxPlan, known: bool) -> None:
        plan.known = known
        t = planned.reading.tally
        t.added += len(plan.inserts)
        t.updated += len(plan.updates)
        t.removed += len(plan.removals)
        t.cancelled += plan.cancelled
        t.left_window += sum(r.reason == RemovedReason.LEFT_WINDOW.value for r in plan.removals)
        planned.keys += [f"{plan.address} | {r.source_id}" for r in plan.removals]
        planned.plans.add(plan)


def _named(read: CalendarRead) -> set[str]:
    """The ids an incremental read names: its items, their series, its removals and the
    series its occurrences belong to."""
    names = {i.source_id for i in read.items} | set(read.removed)
    names |= {i.series_id for i in read.items if i.series_id}
    names |= {o.series_id for o in read.occurrences}
    return names


def _changes_something(read: CalendarRead) -> bool:
    """Whether a complete read can change replicas (not only the state)."""
    return read.whole or bool(read.items or read.removed or read.occurrences)


def window(now: datetime, options: CalendarOptions) -> tuple[datetime, datetime]:
    """Today's window: ``days_back`` before today's midnight (UTC) to ``days_ahead`` after."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=options.days_back), today + timedelta(days=options.days_ahead)


def _w(state: StateRow, fallback: datetime) -> tuple[datetime, datetime]:
    return state.window_start or fallback, state.window_end or fallback


def _whole_needed(
    state: StateRow | None, calendar: CalendarInfo, options: CalendarOptions, now: datetime
) -> bool:
    """First read, another calendar than the primary, no link, other options, or due."""
    if state is None or not calendar.primary or not state.delta_link:
        return True
    if state.options_key != options.shape_key() or state.last_full_at is None:
        return True
    hours = options.full_reconciliation_hours
    return hours <= 0 or now - state.last_full_at >= timedelta(hours=hours)


__all__ = ["CALENDAR_GONE", "CalendarReplication", "window"]
