"""One mailbox calendar's plan: what a complete read changes in its replicas and state.

A whole read (the window read in full) makes the replicas exactly what it saw: items it
did not see go (as "deleted" or "left window", as the source's lookup said), a series'
occurrences it did not see inside the window are cancelled occurrences. An incremental
read changes what it names. A read that did not complete changes no replica: the
mailbox needs attention, its replicas stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from tenantsync.engine.calendar.options import CalendarOptions
from tenantsync.engine.calendar.recurrence import last_end, starts_between
from tenantsync.model.calendar import (
    CalendarRead,
    EventItem,
    EventKind,
    RemovedReason,
)
from tenantsync.store.calendar import Held, StateRow, row_values
from tenantsync.store.models import MailboxState

SKIPPED_PRIVATE = "private items are not replicated"
PATTERN_CHANGED = "the series' pattern changed"
NO_LONGER_CANCELLED = "the occurrence is back"
CALENDAR_GONE = "the calendar is no longer replicated"


@dataclass
class Removal:
    """A replica the plan removes, and why."""

    row_id: int
    source_id: str
    reason: str


@dataclass
class MailboxPlan:
    """What one mailbox calendar's read changes."""

    mailbox_id: int
    address: str
    calendar_key: str
    calendar_name: str
    state: StateRow
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    removals: list[Removal] = field(default_factory=list)
    cancelled: int = 0
    whole: bool = False
    known: bool = False
    drop_state: bool = False

    @property
    def changed(self) -> bool:
        """Whether any replica changes."""
        return bool(self.inserts or self.updates or self.removals)


def cancel_id(series_id: str, original_start: datetime) -> str:
    """The key of a cancelled occurrence (it has no id of its own at the source)."""
    return f"{series_id}#cancelled#{original_start:%Y%m%dT%H%M%SZ}"


def shaped(item: EventItem, options: CalendarOptions) -> EventItem | None:
    """The item as the definition replicates it (None: not at all)."""
    if item.private and options.private == "skip":
        return None
    changes: dict[str, Any] = {}
    if not options.body and item.body:
        changes["body"] = ""
    if not options.attendees and item.attendees:
        changes["attendees"] = ()
    return replace(item, **changes) if changes else item


def plan_read(
    read: CalendarRead,
    held: dict[str, Held],
    masters: dict[str, EventItem],
    previous: StateRow | None,
    options: CalendarOptions,
    *,
    organization_id: int,
    task_id: int,
    now: datetime,
) -> MailboxPlan:
    """The plan of one complete read (see the module docstring)."""
    key = read.calendar.key
    mine = {sid: h for sid, h in held.items() if h.calendar_key == key}
    state = _state(read, previous, options, organization_id, task_id, now)
    plan = MailboxPlan(
        read.mailbox.id, read.mailbox.address, key, read.calendar.name, state, whole=read.whole
    )
    desired: dict[str, EventItem] = {}
    dropped: set[str] = set()
    for item in read.items:
        kept = shaped(item, options)
        if kept is None:
            dropped.add(item.source_id)
        else:
            desired[item.source_id] = kept
    # Exceptions of a series not replicated go with it.
    for sid, item in list(desired.items()):
        if item.series_id and item.series_id in dropped:
            dropped.add(sid)
            del desired[sid]
    seen: dict[str, set[datetime]] = {}
    for occurrence in read.occurrences:
        seen.setdefault(occurrence.series_id, set()).add(occurrence.start)
    for sid in seen:
        # A series the read met but did not fetch again (held, unchanged): as stored.
        if sid not in desired and sid not in dropped and sid in masters and sid in mine:
            desired[sid] = masters[sid]
    for item in desired.values():
        if item.kind is EventKind.EXCEPTION and item.series_id and item.original_start:
            seen.setdefault(item.series_id, set()).add(item.original_start)
    gone: dict[str, str] = {sid: r.value for sid, r in read.removed.items()}
    for sid in dropped:
        gone.setdefault(sid, SKIPPED_PRIVATE)
    for master in [i for i in desired.values() if i.kind is EventKind.MASTER]:
        inside = starts_between(master, read.window_start, read.window_end)
        if not inside:
            # No occurrence in the window any more: the series has left it.
            del desired[master.source_id]
            gone.setdefault(master.source_id, RemovedReason.LEFT_WINDOW.value)
            continue
        if read.whole:
            for start in inside:
                if start not in seen.get(master.source_id, set()):
                    cancelled = _cancelled(master, start)
                    desired[cancelled.source_id] = cancelled
        else:
            _pattern_change(master, masters, mine, gone, desired)
    if read.whole:
        for sid in mine:
            if sid not in desired and sid not in gone:
                gone[sid] = _why_absent(mine[sid], read)
    else:
        _back_from_cancelled(mine, seen, gone)
    removed_series = {sid for sid in gone if sid in mine and mine[sid].kind is EventKind.MASTER}
    for sid, held_item in mine.items():
        if held_item.series_id in removed_series and sid not in desired:
            gone.setdefault(sid, gone[held_item.series_id])
    for sid, why in gone.items():
        if sid in mine and sid not in desired:
            plan.removals.append(Removal(mine[sid].row_id, sid, why))
    for sid, item in desired.items():
        until = last_end(item) if item.kind is EventKind.MASTER else item.end
        values = row_values(organization_id, read.mailbox.id, key, item, until)
        stored = mine.get(sid)
        if stored is None:
            plan.inserts.append(values)
            plan.cancelled += item.kind is EventKind.CANCELLED
        elif stored.fingerprint != values["fingerprint"]:
            plan.updates.append({"id": stored.row_id, **values})
    return plan


def plan_failure(
    read: CalendarRead,
    previous: StateRow | None,
    options: CalendarOptions,
    *,
    organization_id: int,
    task_id: int,
    now: datetime,
) -> MailboxPlan:
    """A read that did not complete: the state says why, the replicas stay."""
    base = previous or StateRow(read.mailbox.id, read.calendar.key, organization_id)
    expired = "no longer kept" in read.why_whole
    state = replace(
        base,
        calendar_name=read.calendar.name or base.calendar_name,
        task_id=task_id,
        state=MailboxState.ATTENTION,
        reason=read.failure or "the read did not finish",
        delta_link=None if expired else base.delta_link,
        last_read_at=now,
        data=dict(base.data),
    )
    return MailboxPlan(
        read.mailbox.id, read.mailbox.address, read.calendar.key, read.calendar.name, state
    )


def plan_gone_calendar(
    mailbox_id: int, address: str, key: str, held: dict[str, Held]
) -> MailboxPlan:
    """A calendar that is no longer replicated (deleted, or the definition asks for the
    default calendar only): its replicas go."""
    state = StateRow(mailbox_id, key, 0)
    plan = MailboxPlan(mailbox_id, address, key, "", state, drop_state=True)
    plan.removals = [
        Removal(h.row_id, sid, CALENDAR_GONE) for sid, h in held.items() if h.calendar_key == key
    ]
    return plan


def _cancelled(master: EventItem, start: datetime) -> EventItem:
    return EventItem(
        source_id=cancel_id(master.source_id, start),
        kind=EventKind.CANCELLED,
        ical_uid=master.ical_uid,
        start=start,
        end=start + (master.end - master.start),
        series_id=master.source_id,
        original_start=start,
        time_zone=master.time_zone,
        time_zone_source=master.time_zone_source,
        sensitivity=master.sensitivity,
    )


def _why_absent(stored: Held, read: CalendarRead) -> str:
    """Why a whole read left out an item it held (the source's lookup, when it made one,
    is in ``read.removed``)."""
    if stored.kind is EventKind.CANCELLED:
        return NO_LONGER_CANCELLED
    outside = stored.start >= read.window_end or (stored.until or stored.end) <= read.window_start
    return RemovedReason.LEFT_WINDOW.value if outside else RemovedReason.DELETED.value


def _pattern_change(
    master: EventItem,
    masters: dict[str, EventItem],
    mine: dict[str, Held],
    gone: dict[str, str],
    desired: dict[str, EventItem],
) -> None:
    """A series whose pattern changed loses its cancellations and exceptions (Outlook drops
    them; an exception the round sent again is kept)."""
    before = masters.get(master.source_id)
    if before is None or before.recurrence == master.recurrence:
        return
    for sid, stored in mine.items():
        if stored.series_id == master.source_id and sid not in desired:
            gone.setdefault(sid, PATTERN_CHANGED)


def _back_from_cancelled(
    mine: dict[str, Held], seen: dict[str, set[datetime]], gone: dict[str, str]
) -> None:
    """An occurrence an incremental round shows is not cancelled."""
    for sid, stored in mine.items():
        if (
            stored.kind is EventKind.CANCELLED
            and stored.series_id in seen
            and stored.original_start in seen[stored.series_id]
        ):
            gone.setdefault(sid, NO_LONGER_CANCELLED)


def _state(
    read: CalendarRead,
    previous: StateRow | None,
    options: CalendarOptions,
    organization_id: int,
    task_id: int,
    now: datetime,
) -> StateRow:
    base = previous or StateRow(read.mailbox.id, read.calendar.key, organization_id)
    data = dict(base.data)
    data["private"] = options.private
    if read.delegates is not None:
        data["delegates"] = [[d.user, d.role, d.delegate, d.private_items] for d in read.delegates]
    return replace(
        base,
        organization_id=organization_id,
        calendar_name=read.calendar.name or base.calendar_name,
        task_id=task_id,
        options_key=options.shape_key(),
        delta_link=read.delta_link,
        window_start=read.window_start,
        window_end=read.window_end,
        last_full_at=now if read.whole else base.last_full_at,
        last_read_at=now,
        state=MailboxState.HEALTHY,
        reason=None,
        data=data,
    )
