"""Calendar changes over time: events added, changed, moved and removed, series and their
single occurrences, calendars restricted and delta sync states evicted. Each change is
recorded in the tenant's change log (primary calendars only: other calendars have no delta
feed), so it surfaces in the next delta round exactly once.
"""

from __future__ import annotations

import copy
from datetime import date, datetime
from typing import Any

from tenantsync.sandbox.entities import (
    CalendarEvent,
    EventAttachment,
    EventOverride,
    Recurrence,
    User,
)
from tenantsync.sandbox.errors import ChangeError
from tenantsync.sandbox.gen_calendar import (
    generate_calendar,
    generate_second,
    second_calendar_id,
    zone,
)
from tenantsync.sandbox.ids import change_key, ical_uid, outlook_id
from tenantsync.sandbox.tenantdata import TenantData

EVENT_PROPERTIES = (
    "subject",
    "body",
    "start",
    "end",
    "location",
    "sensitivity",
    "show_as",
    "is_all_day",
    "time_zone",
)
# Outlook keeps the last few sync state generations of a mailbox's calendar delta.
KEPT_GENERATIONS = 5
GENERATED_KEPT = 256


class EventChanges(TenantData):
    """The calendar half of the tenant's changes."""

    # ---- events -------------------------------------------------------------------------
    def add_event(
        self,
        mailbox_id: str,
        subject: str,
        start: datetime,
        end: datetime,
        *,
        time_zone: str = "UTC",
        is_all_day: bool = False,
        sensitivity: str = "normal",
        location: str = "",
        body: str = "",
        recurrence: dict[str, Any] | None = None,
        calendar_id: str | None = None,
        attachments: list[dict[str, str]] | None = None,
    ) -> CalendarEvent:
        """Create an event (a series when ``recurrence`` is given: pattern_type, interval,
        days_of_week, day_of_month, month, index, first_day_of_week, start_date,
        end_date, number_of_occurrences) in the mailbox's calendar or another one."""
        owner = self._user(mailbox_id)
        calendar = self._stored_calendar(mailbox_id, calendar_id)
        n = 1000 + self.log.seq
        now = self.now()
        eid = outlook_id(self.seed, owner.index, "added", n)
        # Times live in the event's own zone: a series recurs at its wall-clock time.
        start, end = start.astimezone(zone(time_zone)), end.astimezone(zone(time_zone))
        event = CalendarEvent(
            id=eid,
            ical_uid=ical_uid(self.seed, owner.index, "added", n),
            subject=subject,
            body=body,
            start=start,
            end=end,
            time_zone=time_zone,
            is_all_day=is_all_day,
            sensitivity=sensitivity,
            show_as="free" if is_all_day else "busy",
            organizer_name=owner.display_name,
            organizer_address=owner.mail or owner.user_principal_name,
            attendees=[],
            location=location,
            created=now,
            last_modified=now,
            change_key=change_key(eid, n),
            attachments=[
                EventAttachment(
                    a["name"], a.get("content_type", "text/plain"), a["content"].encode()
                )
                for a in attachments or ()
            ],
        )
        if recurrence is not None:
            event.recurrence = _recurrence(recurrence, start)
        calendar[eid] = event
        self._record_event(mailbox_id, eid, None, calendar_id)
        return event

    def update_event(self, mailbox_id: str, event_id: str, **changes: Any) -> CalendarEvent:
        """Change an event (subject, start, end, location, sensitivity, …)."""
        calendar_id = changes.pop("calendar_id", None)
        event = self._event(mailbox_id, event_id, calendar_id)
        before = copy.deepcopy(event)
        for key, value in changes.items():
            if key not in EVENT_PROPERTIES:
                raise ChangeError(f"unknown event property {key!r}")
            if key in ("start", "end"):
                value = value.astimezone(zone(changes.get("time_zone", event.time_zone)))
            setattr(event, key, value)
        self._touch(event)
        self._record_event(mailbox_id, event.id, before, calendar_id)
        return event

    def set_recurrence(self, mailbox_id: str, event_id: str, **pattern: Any) -> CalendarEvent:
        """Give a series a new pattern; its exceptions and cancellations go, as in Outlook."""
        event = self._event(mailbox_id, event_id)
        if event.recurrence is None:
            raise ChangeError(f"event {event_id!r} is not a series")
        before = copy.deepcopy(event)
        event.recurrence = _recurrence(pattern, event.start)
        event.overrides.clear()
        event.cancelled.clear()
        self._touch(event)
        self._record_event(mailbox_id, event.id, before)
        return event

    def move_occurrence(
        self,
        mailbox_id: str,
        event_id: str,
        occurrence: str,
        start: datetime,
        end: datetime,
        subject: str | None = None,
    ) -> CalendarEvent:
        """Move one occurrence of a series (``occurrence``: its date) — an exception."""
        event = self._event(mailbox_id, event_id)
        day = self._occurrence_day(event, occurrence)
        before = copy.deepcopy(event)
        event.overrides[day] = EventOverride(
            start, end, subject or event.subject, change_key(event.id, day, self.log.seq)
        )
        self._touch(event)
        self._record_event(mailbox_id, event.id, before)
        return event

    def cancel_occurrence(self, mailbox_id: str, event_id: str, occurrence: str) -> CalendarEvent:
        """Cancel one occurrence of a series. Outlook's delta never tells of it (only a full
        calendarView shows it gone), so no change is logged."""
        event = self._event(mailbox_id, event_id)
        day = self._occurrence_day(event, occurrence)
        event.overrides.pop(day, None)
        event.cancelled.add(day)
        self.calendar_version += 1
        return event

    def delete_occurrence(self, mailbox_id: str, event_id: str, occurrence: str) -> CalendarEvent:
        """Delete one occurrence of a series (as silent in delta as a cancellation)."""
        return self.cancel_occurrence(mailbox_id, event_id, occurrence)

    def cancel_event(self, mailbox_id: str, event_id: str) -> CalendarEvent:
        """The organizer cancelled the meeting: it stays, marked cancelled."""
        event = self._event(mailbox_id, event_id)
        before = copy.deepcopy(event)
        event.is_cancelled = True
        event.subject = f"Canceled: {event.subject}"
        self._touch(event)
        self._record_event(mailbox_id, event.id, before)
        return event

    def remove_event(self, mailbox_id: str, event_id: str, calendar_id: str | None = None) -> None:
        """Delete an event (a whole series when it is a series master)."""
        event = self._event(mailbox_id, event_id, calendar_id)
        del self._stored_calendar(mailbox_id, calendar_id)[event_id]
        self._record_event(mailbox_id, event.id, event, calendar_id, action="delete")

    def restrict_mailbox(self, mailbox_id: str, restricted: bool = True) -> None:
        """Put a mailbox under an application access policy that leaves the application
        out (its calendar answers 403), or lift it."""
        user = self._user(mailbox_id)
        if restricted:
            self.restricted.add(user.id)
        else:
            self.restricted.discard(user.id)

    def evict_calendar_delta(self, mailbox_id: str) -> None:
        """Hand out enough newer sync states of the mailbox's calendar that every delta link
        given so far is evicted (410 SyncStateNotFound), as other clients' syncs do."""
        user = self._user(mailbox_id)
        self.calendar_generations[user.id] = (
            self.calendar_generations.get(user.id, 0) + KEPT_GENERATIONS + 1
        )

    def expire_delta_tokens(self) -> None:
        """Invalidate every delta token handed out so far (clients must resync)."""
        self.log.expire_tokens()

    def calendars_of(self, mailbox_id: str) -> list[tuple[str, str]]:
        """(id, name) of the mailbox's calendars besides its primary one."""
        owner = self.users.get(mailbox_id)
        if owner is None or owner.mailbox is None:
            return []
        second = second_calendar_id(owner)
        return [(second, "Team events")] if second else []

    # ---- helpers ------------------------------------------------------------------------
    def calendar(self, mailbox_id: str, calendar_id: str | None = None) -> dict[str, CalendarEvent]:
        """A mailbox's events (of its primary calendar, or of ``calendar_id``): the stored
        copy once changed, else generated from the seed."""
        key = _calendar_key(mailbox_id, calendar_id)
        stored = self.calendars.get(key)
        if stored is not None:
            return stored
        owner = self.users.get(mailbox_id)
        if owner is None or owner.mailbox is None:
            return {}
        cached = self.generated_calendars.get(key)
        if cached is not None:
            self.generated_calendars.move_to_end(key)
            return cached
        if calendar_id is None:
            made = generate_calendar(self, owner)
        elif calendar_id == second_calendar_id(owner):
            made = generate_second(self, owner)
        else:
            return {}
        self.generated_calendars[key] = made
        while len(self.generated_calendars) > GENERATED_KEPT:
            self.generated_calendars.popitem(last=False)
        return made

    def _stored_calendar(
        self, mailbox_id: str, calendar_id: str | None = None
    ) -> dict[str, CalendarEvent]:
        key = _calendar_key(mailbox_id, calendar_id)
        if key not in self.calendars:
            if calendar_id is not None and calendar_id not in dict(self.calendars_of(mailbox_id)):
                raise ChangeError(f"no calendar {calendar_id!r} in {mailbox_id!r}")
            self.calendars[key] = self.calendar(mailbox_id, calendar_id)
            self.generated_calendars.pop(key, None)
        return self.calendars[key]

    def _record_event(
        self,
        mailbox_id: str,
        event_id: str,
        before: CalendarEvent | None,
        calendar_id: str | None = None,
        action: str = "upsert",
    ) -> None:
        self.calendar_version += 1
        # Only the primary calendar has a delta feed; changes elsewhere are seen by reading.
        if calendar_id is None:
            self.log.record(
                "events",
                event_id,
                "delete" if action == "delete" else "upsert",
                mailbox_id=mailbox_id,
                before=before,
            )

    def _touch(self, event: CalendarEvent) -> None:
        event.last_modified = self.now()
        event.change_key = change_key(event.id, self.log.seq + 1)

    def _occurrence_day(self, event: CalendarEvent, occurrence: str) -> date:
        from tenantsync.sandbox.recurrence import occurrence_dates

        try:
            day = date.fromisoformat(occurrence[:10])
        except ValueError:
            raise ChangeError(f"occurrence: not a date: {occurrence!r}") from None
        rec = event.recurrence
        if rec is None or day not in occurrence_dates(rec, day):
            raise ChangeError(f"event {event.id!r} has no occurrence on {day}")
        return day

    def _user(self, user_id: str) -> User:
        user = self.user_by_key(user_id)
        if user is None:
            raise ChangeError(f"no user {user_id!r}")
        return user

    def _event(
        self, mailbox_id: str, event_id: str, calendar_id: str | None = None
    ) -> CalendarEvent:
        self._user(mailbox_id)
        event = self._stored_calendar(mailbox_id, calendar_id).get(event_id)
        if event is None:
            raise ChangeError(f"no event {event_id!r} in {mailbox_id!r}")
        return event


def _calendar_key(mailbox_id: str, calendar_id: str | None) -> str:
    return mailbox_id if calendar_id is None else f"{mailbox_id}/{calendar_id}"


def _recurrence(pattern: dict[str, Any], start: datetime) -> Recurrence:
    """A pattern from change arguments (dates as ISO strings); unknown keys are refused."""
    known = {
        "pattern_type",
        "interval",
        "days_of_week",
        "day_of_month",
        "month",
        "index",
        "first_day_of_week",
        "start_date",
        "end_date",
        "number_of_occurrences",
    }
    unknown = set(pattern) - known
    if unknown:
        raise ChangeError(f"unknown recurrence keys {sorted(unknown)}")

    def day(value: Any) -> date | None:
        if value is None or isinstance(value, date):
            return value
        return date.fromisoformat(str(value))

    return Recurrence(
        pattern_type=pattern.get("pattern_type", "weekly"),
        interval=int(pattern.get("interval", 1)),
        days_of_week=list(pattern.get("days_of_week", [])),
        day_of_month=int(pattern.get("day_of_month", 0)),
        start_date=day(pattern.get("start_date")) or start.date(),
        end_date=day(pattern.get("end_date")),
        number_of_occurrences=int(pattern.get("number_of_occurrences", 0)),
        month=int(pattern.get("month", 0)),
        index=str(pattern.get("index", "first")),
        first_day_of_week=str(pattern.get("first_day_of_week", "sunday")),
    )
