"""What people see of the replicas: a mailbox's instances in a range for one viewer, who
may view a calendar, and its replication state. The console, the API, the CLI and the
feeds all ask here, so private items are masked the one same way everywhere.

A private item (sensitivity private or confidential) shows its time and its free/busy,
and nothing of its subject, location, body or attendees, to everyone but the owner and
delegates whose calendar folder flags include ``CanViewPrivateItems`` — unless the
definition replicates private items ``full``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tenantsync.engine.calendar.recurrence import Instance, expand
from tenantsync.model.calendar import EventItem
from tenantsync.store.calendar import StateRow, load_states, replicas_between
from tenantsync.store.models import CalendarSyncState, DelegateGrant, Mailbox, MailboxState

MASKED_SUBJECT = "Private appointment"
OWNER = "owner"


@dataclass(frozen=True)
class Viewer:
    """Who looks at a calendar: a mailbox of the organization, or a console account (which
    is never the owner nor a delegate: it sees private items masked)."""

    mailbox_id: int | None
    label: str
    private_items: bool = False
    relation: str = "console"


@dataclass(frozen=True)
class CalendarDelegate:
    """A mailbox that may view a calendar: its owner, a delegate from permission sync, or
    someone the calendar folder is shared with; and whether it sees private items."""

    mailbox_id: int
    address: str
    relation: str
    private_items: bool


def mask(item: EventItem) -> EventItem:
    """A private item as others see it: its time and free/busy only."""
    return replace(
        item,
        subject=MASKED_SUBJECT,
        location="",
        body="",
        attendees=(),
        attachments=(),
        categories=(),
    )


def instances_for(
    session: Session, mailbox: Mailbox, start: datetime, end: datetime, viewer: Viewer
) -> list[Instance]:
    """The mailbox's instances overlapping [start, end) as ``viewer`` may see them."""
    items = replicas_between(session, mailbox.id, start, end)
    shown = shows_private(session, mailbox, viewer)
    if not shown:
        items = [mask(i) if i.private else i for i in items]
    return expand(items, start, end)


def shows_private(session: Session, mailbox: Mailbox, viewer: Viewer) -> bool:
    """Whether ``viewer`` sees the details of the mailbox's private items."""
    if viewer.mailbox_id == mailbox.id:
        return True
    if _private_option(session, mailbox) == "full":
        return True
    if viewer.mailbox_id is None:
        return False
    return any(
        d.mailbox_id == viewer.mailbox_id and d.private_items for d in delegates(session, mailbox)
    )


def _private_option(session: Session, mailbox: Mailbox) -> str:
    state = load_states(session, [mailbox.id]).get((mailbox.id, "primary"))
    return str(state.data.get("private", "busy")) if state else "busy"


def delegates(session: Session, mailbox: Mailbox) -> list[CalendarDelegate]:
    """Who may view the mailbox's calendar: the owner, the delegates permission sync keeps,
    and the people its calendar folder is shared with (by the name Exchange shows)."""
    out: dict[int, CalendarDelegate] = {
        mailbox.id: CalendarDelegate(mailbox.id, mailbox.primary_address, OWNER, True)
    }
    state = load_states(session, [mailbox.id]).get((mailbox.id, "primary"))
    folder = list(state.data.get("delegates") or []) if state else []
    names = [str(row[0]) for row in folder]
    found = _mailboxes_named(session, mailbox.organization_id, names)
    for user, role, _delegate, private in folder:
        target = found.get(str(user).lower())
        if target is not None and target.id != mailbox.id:
            out[target.id] = CalendarDelegate(
                target.id, target.primary_address, f"calendar folder ({role})", bool(private)
            )
    grants = session.execute(
        select(Mailbox.id, Mailbox.primary_address, DelegateGrant.right)
        .join(Mailbox, Mailbox.id == DelegateGrant.delegate_id)
        .where(DelegateGrant.mailbox_id == mailbox.id)
    )
    for mid, address, right in grants:
        if mid not in out:
            out[mid] = CalendarDelegate(mid, address, f"delegate ({right.value})", False)
    return sorted(out.values(), key=lambda d: (d.relation != OWNER, d.address))


def viewer_of(session: Session, mailbox: Mailbox, viewer: Mailbox) -> Viewer | None:
    """``viewer`` as a viewer of the mailbox's calendar, or None when it may not view it."""
    for d in delegates(session, mailbox):
        if d.mailbox_id == viewer.id:
            return Viewer(d.mailbox_id, d.address, d.private_items, d.relation)
    return None


def states_of(session: Session, mailbox: Mailbox) -> list[StateRow]:
    """The replication state of each of the mailbox's calendars, the primary one first."""
    rows = load_states(session, [mailbox.id]).values()
    return sorted(rows, key=lambda r: (r.calendar_key != "primary", r.calendar_name))


def needing_attention(session: Session, task_id: int) -> list[tuple[Mailbox, StateRow]]:
    """Mailbox calendars a task last read that need attention, with the reason."""
    rows = session.execute(
        select(Mailbox, CalendarSyncState.calendar_key)
        .join(CalendarSyncState, CalendarSyncState.mailbox_id == Mailbox.id)
        .where(
            CalendarSyncState.task_id == task_id,
            CalendarSyncState.state == MailboxState.ATTENTION,
        )
        .order_by(Mailbox.primary_address)
    ).all()
    states = load_states(session, [m.id for m, _ in rows])
    return [(m, states[(m.id, key)]) for m, key in rows if (m.id, key) in states]


def _mailboxes_named(
    session: Session, organization_id: int, names: list[str]
) -> dict[str, Mailbox]:
    """Mailboxes whose display name or address is one of ``names`` (lower case keys); a
    name shared by several mailboxes names none of them."""
    if not names:
        return {}
    wanted = {n.lower() for n in names}
    rows = session.scalars(
        select(Mailbox).where(
            Mailbox.organization_id == organization_id,
            Mailbox.deleted_at.is_(None),
            or_(
                func.lower(Mailbox.display_name).in_(wanted),
                func.lower(Mailbox.primary_address).in_(wanted),
            ),
        )
    ).all()
    out: dict[str, Mailbox] = {}
    shared: set[str] = set()
    for row in rows:
        for key in {row.display_name.lower(), row.primary_address.lower()} & wanted:
            if key in out:
                shared.add(key)
            out[key] = row
    return {k: v for k, v in out.items() if k not in shared}
