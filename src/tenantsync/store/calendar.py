"""Calendar replicas and their sync state: read and written in bulk, rows ↔ model items.

Replicas are keyed by (mailbox, immutable event id); the state by (mailbox, calendar).
Every write here runs in the caller's transaction, so a mailbox's changes and its newest
delta link are kept together or not at all.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import String, Table, and_, delete, func, or_, select, type_coerce, update
from sqlalchemy.orm import Session

from tenantsync.model.calendar import (
    Attachment,
    Attendee,
    EventItem,
    EventKind,
    Recurrence,
    Sensitivity,
)
from tenantsync.store.bulk import chunks, insert_chunked
from tenantsync.store.models import CalendarReplica, CalendarSyncState, MailboxState
from tenantsync.timeutil import utcnow

_REPLICA = cast(Table, CalendarReplica.__table__)
_STATE = cast(Table, CalendarSyncState.__table__)
StateKey = tuple[int, str]


@dataclass(frozen=True)
class Held:
    """What a run needs of a stored replica to diff against a read."""

    row_id: int
    calendar_key: str
    kind: EventKind
    fingerprint: str
    series_id: str | None
    original_start: datetime | None
    start: datetime
    end: datetime
    until: datetime | None
    change_key: str


@dataclass
class StateRow:
    """One mailbox calendar's sync state, as plain data."""

    mailbox_id: int
    calendar_key: str
    organization_id: int
    calendar_name: str = ""
    task_id: int | None = None
    options_key: str = ""
    delta_link: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    last_full_at: datetime | None = None
    last_read_at: datetime | None = None
    state: MailboxState = MailboxState.PENDING
    reason: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


_STATE_FIELDS = (
    "organization_id",
    "calendar_name",
    "task_id",
    "options_key",
    "delta_link",
    "window_start",
    "window_end",
    "last_full_at",
    "last_read_at",
    "state",
    "reason",
    "data",
)


# ---- state ------------------------------------------------------------------------------
def load_states(session: Session, mailbox_ids: Iterable[int]) -> dict[StateKey, StateRow]:
    """The sync state of every calendar of these mailboxes."""
    out: dict[StateKey, StateRow] = {}
    for batch in chunks(sorted(set(mailbox_ids))):
        rows = session.scalars(
            select(CalendarSyncState).where(CalendarSyncState.mailbox_id.in_(batch))
        )
        for row in rows:
            out[(row.mailbox_id, row.calendar_key)] = StateRow(
                row.mailbox_id,
                row.calendar_key,
                **{name: getattr(row, name) for name in _STATE_FIELDS},
            )
    return out


def save_states(
    session: Session, rows: Sequence[StateRow], *, known: Iterable[StateKey] = ()
) -> None:
    """Write these states (``known``: the keys already stored, from :func:`load_states`)."""
    stored = set(known)
    now = utcnow()
    values = [
        {
            "mailbox_id": row.mailbox_id,
            "calendar_key": row.calendar_key,
            "updated_at": now,
            **{name: getattr(row, name) for name in _STATE_FIELDS},
        }
        for row in rows
    ]
    fresh = [v for v in values if (v["mailbox_id"], v["calendar_key"]) not in stored]
    insert_chunked(session, _STATE, fresh)
    changed = [v for v in values if (v["mailbox_id"], v["calendar_key"]) in stored]
    for part in chunks(changed):
        session.execute(update(CalendarSyncState), part)


def drop_states(session: Session, keys: Sequence[StateKey]) -> None:
    """Forget the state of these mailbox calendars (no longer replicated)."""
    for mid, key in keys:
        session.execute(
            delete(CalendarSyncState).where(
                CalendarSyncState.mailbox_id == mid, CalendarSyncState.calendar_key == key
            )
        )


# ---- replicas -----------------------------------------------------------------------------
def held_replicas(session: Session, mailbox_ids: Iterable[int]) -> dict[int, dict[str, Held]]:
    """Per mailbox, every stored replica by source id (without its contents)."""
    out: dict[int, dict[str, Held]] = {}
    for batch in chunks(sorted(set(mailbox_ids))):
        for mid, sid, *rest in session.execute(
            select(*_HELD_COLUMNS).where(CalendarReplica.mailbox_id.in_(batch))
        ):
            out.setdefault(mid, {})[sid] = _held(rest)
    return out


_HELD_COLUMNS = (
    CalendarReplica.mailbox_id,
    CalendarReplica.source_id,
    CalendarReplica.id,
    CalendarReplica.calendar_key,
    CalendarReplica.kind,
    CalendarReplica.fingerprint,
    CalendarReplica.series_id,
    CalendarReplica.original_start,
    CalendarReplica.start_at,
    CalendarReplica.end_at,
    CalendarReplica.until_at,
    CalendarReplica.change_key,
)


def _held(rest: Sequence[Any]) -> Held:
    row_id, key, kind, fp, series, original, start, end, until, ck = rest
    return Held(row_id, key, EventKind(kind), fp, series, original, start, end, until, ck)


def held_touching(session: Session, wanted: Mapping[int, set[str]]) -> dict[int, dict[str, Held]]:
    """Per mailbox, the stored replicas whose id or series is one of ``wanted[mailbox]`` (what
    an incremental read can change, without loading the rest)."""
    out: dict[int, dict[str, Held]] = {}
    ids = sorted({sid for mine in wanted.values() for sid in mine})
    mailboxes = sorted(wanted)
    if not ids:
        return out
    for batch in chunks(ids):
        rows = session.execute(
            select(*_HELD_COLUMNS).where(
                CalendarReplica.mailbox_id.in_(mailboxes),
                or_(CalendarReplica.source_id.in_(batch), CalendarReplica.series_id.in_(batch)),
            )
        )
        for mid, sid, *rest in rows:
            mine = wanted.get(mid, set())
            held = _held(rest)
            if sid in mine or held.series_id in mine:
                out.setdefault(mid, {})[sid] = held
    return out


def held_keys(
    session: Session, mailbox_ids: Iterable[int]
) -> dict[int, dict[str, tuple[str, EventKind, str]]]:
    """Per mailbox, every stored replica's (calendar, kind, change key) by source id: what a
    read needs to be asked for, cheaply."""
    out: dict[int, dict[str, tuple[str, EventKind, str]]] = {}
    c = _REPLICA.c
    # Every stored replica of the mailboxes, so each row costs little: the kind comes as its
    # stored text (the enum type's own conversion was most of this query's time).
    columns = (c.mailbox_id, c.source_id, c.calendar_key, type_coerce(c.kind, String), c.change_key)
    kinds = {kind.value: kind for kind in EventKind}
    for batch in chunks(sorted(set(mailbox_ids))):
        for mid, sid, key, kind, change in session.execute(
            select(*columns).where(c.mailbox_id.in_(batch))
        ):
            out.setdefault(mid, {})[sid] = (key, kinds[kind], change)
    return out


def masters_of(session: Session, row_ids: Sequence[int]) -> dict[int, EventItem]:
    """Stored series masters by row id, whole."""
    out: dict[int, EventItem] = {}
    for batch in chunks(sorted(set(row_ids))):
        for row in session.scalars(select(CalendarReplica).where(CalendarReplica.id.in_(batch))):
            out[row.id] = item_of(row)
    return out


def write_replicas(
    session: Session,
    *,
    inserts: Iterable[dict[str, Any]] = (),
    updates: Sequence[dict[str, Any]] = (),
    deletes: Sequence[int] = (),
) -> None:
    """Insert new rows, update changed ones (by ``id``), delete removed ones (by row id)."""
    for batch in chunks(sorted(set(deletes))):
        session.execute(delete(CalendarReplica).where(CalendarReplica.id.in_(batch)))
    for part in chunks(updates):
        session.execute(update(CalendarReplica), part)
    insert_chunked(session, _REPLICA, inserts)


def count_replicas(session: Session, mailbox_ids: Iterable[int]) -> int:
    """How many replicas these mailboxes hold."""
    total = 0
    for batch in chunks(sorted(set(mailbox_ids))):
        total += (
            session.scalar(
                select(func.count())
                .select_from(CalendarReplica)
                .where(CalendarReplica.mailbox_id.in_(batch))
            )
            or 0
        )
    return total


def replicas_between(
    session: Session, mailbox_id: int, start: datetime, end: datetime
) -> list[EventItem]:
    """The mailbox's replicas that can give an instance in [start, end): single events and
    exceptions overlapping it (a day's slack for all-day dates), series running then, and
    those series' exceptions and cancellations."""
    day = 86_400
    query = select(CalendarReplica).where(
        CalendarReplica.mailbox_id == mailbox_id,
        or_(
            and_(
                CalendarReplica.kind.in_([EventKind.SINGLE, EventKind.EXCEPTION]),
                CalendarReplica.start_at < _shift(end, day),
                CalendarReplica.end_at > _shift(start, -day),
            ),
            and_(
                CalendarReplica.kind == EventKind.MASTER,
                CalendarReplica.start_at < _shift(end, day),
                or_(CalendarReplica.until_at.is_(None), CalendarReplica.until_at > start),
            ),
        ),
    )
    found = [item_of(row) for row in session.scalars(query)]
    series = [i.source_id for i in found if i.kind is EventKind.MASTER]
    known = {i.source_id for i in found}
    for batch in chunks(series):
        for row in session.scalars(
            select(CalendarReplica).where(
                CalendarReplica.mailbox_id == mailbox_id, CalendarReplica.series_id.in_(batch)
            )
        ):
            if row.source_id not in known:
                found.append(item_of(row))
    return found


def replicas_of(session: Session, mailbox_id: int) -> list[EventItem]:
    """Every replica of a mailbox."""
    rows = session.scalars(select(CalendarReplica).where(CalendarReplica.mailbox_id == mailbox_id))
    return [item_of(row) for row in rows]


def _shift(moment: datetime, seconds: int) -> datetime:
    return moment + timedelta(seconds=seconds)


# ---- rows ↔ items -------------------------------------------------------------------------
def row_values(
    organization_id: int,
    mailbox_id: int,
    calendar_key: str,
    item: EventItem,
    until: datetime | None,
) -> dict[str, Any]:
    """The column values of a replica row for ``item`` (its fingerprint included)."""
    details = {
        "organizer": item.organizer,
        "attendees": [[a.name, a.address, a.type, a.response] for a in item.attendees],
        "categories": list(item.categories),
        "attachments": [
            [
                a.name,
                a.size,
                a.content_type,
                base64.b64encode(a.content).decode() if a.content is not None else None,
            ]
            for a in item.attachments
        ],
        "recurrence": _recurrence_json(item.recurrence),
    }
    values: dict[str, Any] = {
        "organization_id": organization_id,
        "mailbox_id": mailbox_id,
        "calendar_key": calendar_key,
        "source_id": item.source_id,
        "kind": item.kind,
        "series_id": item.series_id,
        "ical_uid": item.ical_uid,
        "start_at": item.start,
        "end_at": item.end,
        "until_at": until,
        "original_start": item.original_start,
        "all_day": item.all_day,
        "start_date": item.start_date,
        "end_date": item.end_date,
        "time_zone": item.time_zone,
        "time_zone_source": item.time_zone_source,
        "sensitivity": item.sensitivity.value,
        "show_as": item.show_as,
        "subject": item.subject,
        "location": item.location,
        "body": item.body,
        "details": details,
        "change_key": item.change_key,
        "last_modified": item.last_modified,
    }
    values["fingerprint"] = fingerprint(values)
    values["updated_at"] = utcnow()
    return values


def fingerprint(values: Mapping[str, Any]) -> str:
    """A digest of what a replica row says (what changes it), to write only what changed."""
    kept = {
        k: v
        for k, v in values.items()
        if k not in ("updated_at", "fingerprint", "organization_id", "mailbox_id")
    }
    text = json.dumps(kept, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def item_of(row: CalendarReplica) -> EventItem:
    """A stored replica as a model item."""
    details = row.details or {}
    return EventItem(
        source_id=row.source_id,
        kind=EventKind(row.kind),
        ical_uid=row.ical_uid,
        start=row.start_at,
        end=row.end_at,
        series_id=row.series_id,
        original_start=row.original_start,
        all_day=row.all_day,
        start_date=row.start_date,
        end_date=row.end_date,
        time_zone=row.time_zone,
        time_zone_source=row.time_zone_source,
        subject=row.subject,
        location=row.location,
        body=row.body,
        sensitivity=Sensitivity(row.sensitivity),
        show_as=row.show_as,
        organizer=str(details.get("organizer") or ""),
        attendees=tuple(Attendee(*a) for a in details.get("attendees") or ()),
        categories=tuple(details.get("categories") or ()),
        attachments=tuple(
            Attachment(n, s, t, base64.b64decode(c) if c else None)
            for n, s, t, c in details.get("attachments") or ()
        ),
        recurrence=_recurrence(details.get("recurrence")),
        change_key=row.change_key,
        last_modified=row.last_modified,
    )


def _recurrence_json(rec: Recurrence | None) -> dict[str, Any] | None:
    if rec is None:
        return None
    return {
        "pattern": rec.pattern,
        "interval": rec.interval,
        "days_of_week": list(rec.days_of_week),
        "day_of_month": rec.day_of_month,
        "month": rec.month,
        "index": rec.index,
        "first_day_of_week": rec.first_day_of_week,
        "range_type": rec.range_type,
        "start_date": rec.start_date.isoformat() if rec.start_date else None,
        "end_date": rec.end_date.isoformat() if rec.end_date else None,
        "count": rec.count,
        "time_zone": rec.time_zone,
    }


def _recurrence(value: Any) -> Recurrence | None:
    if not isinstance(value, dict):
        return None
    start, end = value.get("start_date"), value.get("end_date")
    return Recurrence(
        pattern=str(value["pattern"]),
        interval=int(value["interval"]),
        days_of_week=tuple(value.get("days_of_week") or ()),
        day_of_month=int(value.get("day_of_month") or 0),
        month=int(value.get("month") or 0),
        index=str(value.get("index") or "first"),
        first_day_of_week=str(value.get("first_day_of_week") or "sunday"),
        range_type=str(value.get("range_type") or "noEnd"),
        start_date=date.fromisoformat(start) if start else None,
        end_date=date.fromisoformat(end) if end else None,
        count=int(value.get("count") or 0),
        time_zone=value.get("time_zone"),
    )


__all__ = [
    "Held",
    "StateRow",
    "count_replicas",
    "drop_states",
    "held_keys",
    "held_replicas",
    "held_touching",
    "item_of",
    "load_states",
    "masters_of",
    "replicas_between",
    "replicas_of",
    "row_values",
    "save_states",
    "write_replicas",
]
