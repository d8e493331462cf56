"""Changes over time: add, modify and remove users, members, permissions and events.

Every method records what it did in the tenant's change log, which is what the delta
endpoints read, so each change surfaces in the next delta round exactly once.
"""

from __future__ import annotations

import copy
import hashlib
import uuid
from datetime import date, datetime
from typing import Any

from tenantsync.sandbox.entities import (
    FULL_ACCESS,
    CalendarEvent,
    EventAttachment,
    EventOverride,
    Group,
    GroupKind,
    MailboxKind,
    Recurrence,
    User,
)
from tenantsync.sandbox.gen_calendar import (
    generate_calendar,
    generate_second,
    second_calendar_id,
    zone,
)
from tenantsync.sandbox.ids import change_key, ical_uid, outlook_id
from tenantsync.sandbox.tenantdata import TenantData

# Python attribute -> Graph property name, for the properties a change may touch.
USER_PROPERTIES = {
    "display_name": "displayName",
    "given_name": "givenName",
    "surname": "surname",
    "department": "department",
    "job_title": "jobTitle",
    "company_name": "companyName",
    "office_location": "officeLocation",
    "account_enabled": "accountEnabled",
    "licenses": "assignedLicenses",
    "mobile_phone": "mobilePhone",
    "business_phones": "businessPhones",
    "user_type": "userType",
    "hidden_from_address_lists": "showInAddressList",
}
GROUP_PROPERTIES = {"display_name": "displayName", "description": "description"}
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


class ChangeError(ValueError):
    """A requested change names something that does not exist or is not allowed."""


class TenantChanges(TenantData):
    """The mutating half of the tenant's rules."""

    # ---- users ----------------------------------------------------------------------
    def add_user(
        self,
        display_name: str,
        *,
        alias: str | None = None,
        kind: MailboxKind = "user",
        department: str | None = None,
        job_title: str | None = None,
        licensed: bool = True,
        account_enabled: bool = True,
        domain: str | None = None,
    ) -> User:
        """Create a user with a mailbox of `kind`; returns it."""
        base = alias or display_name.lower().replace(" ", ".")
        alias = base
        n = 1
        while alias.lower() in self._by_alias:
            n += 1
            alias = f"{base}{n}"
        domain = domain or self.domains[0]
        upn = f"{alias}@{domain}"
        now = self.now()
        seq = self.next_index
        self.next_index += 1
        uid = _guid_from(self.tenant_id, "user", seq)
        parts = display_name.split(" ", 1)
        user = User(
            index=seq,
            id=uid,
            display_name=display_name,
            given_name=parts[0] if kind == "user" else None,
            surname=parts[1] if kind == "user" and len(parts) > 1 else None,
            user_principal_name=upn,
            mail=upn,
            mail_nickname=alias,
            proxy_addresses=[f"SMTP:{upn}", f"smtp:{alias}@{self.initial_domain}"],
            department=department,
            company_name=self.organization_name,
            job_title=job_title,
            office_location=None,
            account_enabled=account_enabled,
            licenses=[next(iter(self.skus))] if licensed and kind == "user" else [],
            user_type="Member",
            mailbox=kind,
            created=now,
            when_changed=now,
            exchange_guid=_guid_from(self.tenant_id, "exguid", seq),
            exchange_object_guid=_guid_from(self.tenant_id, "exobj", seq),
        )
        self.users[uid] = user
        self._index_user(user)
        self.log.record("users", uid, "upsert")
        return user

    def update_user(self, user_id: str, **changes: Any) -> User:
        """Change user properties (names as in `USER_PROPERTIES`, plus `mail` and `alias`)."""
        user = self._user(user_id)
        touched: set[str] = set()
        self._unindex_user(user, order=False)
        for key, value in changes.items():
            if key == "mail":
                user.mail = value
                user.proxy_addresses = [f"SMTP:{value}"] + [
                    f"smtp:{p[5:]}" if p.startswith("SMTP:") else p
                    for p in user.proxy_addresses
                    if p[5:].lower() != str(value).lower()
                ]
                touched |= {"mail", "proxyAddresses"}
            elif key == "add_alias":
                user.proxy_addresses = [*user.proxy_addresses, f"smtp:{value}"]
                touched.add("proxyAddresses")
            elif key in USER_PROPERTIES:
                setattr(user, key, value)
                touched.add(USER_PROPERTIES[key])
            else:
                raise ChangeError(f"unknown user property {key!r}")
        self._index_user(user, order=False)
        user.when_changed = self.now()
        self.log.record("users", user.id, "upsert", properties=frozenset(touched))
        return user

    def remove_user(self, user_id: str) -> None:
        """Delete a user: leaves its groups; grants it held on others turn into orphaned SIDs."""
        user = self._user(user_id)
        for group in self.groups.values():
            if user.id in group.members:
                self.remove_group_member(group.id, user.id)
        sid = f"S-1-5-21-{int(self.tenant_id[:8], 16)}-{user.index + 100000}"
        for entries in self.full_access.values():
            entries[:] = [(sid if r == user.id else r, f, d) for r, f, d in entries]
        for sa_entries in self.send_as.values():
            sa_entries[:] = [(sid if r == user.id else r, d) for r, d in sa_entries]
        for folder in self.calendar_permissions.values():
            folder[:] = [(f"NT:{sid}" if r == user.id else r, ro, fl) for r, ro, fl in folder]
        for other in self.users.values():
            if user.id in other.send_on_behalf:
                other.send_on_behalf = [x for x in other.send_on_behalf if x != user.id]
        self.full_access.pop(user.id, None)
        self.send_as.pop(user.id, None)
        self.calendar_permissions.pop(user.id, None)
        self.calendars.pop(user.id, None)
        self._unindex_user(user)
        del self.users[user.id]
        self.log.record("users", user.id, "delete")

    # ---- groups ---------------------------------------------------------------------
    def add_group(self, display_name: str, *, kind: GroupKind = "security") -> Group:
        """Create an empty group."""
        seq = len(self.groups) + 10_000 + self.log.seq
        alias = display_name.lower().replace(" ", ".")
        gid = _guid_from(self.tenant_id, "group", seq)
        mail = f"{alias}@{self.domains[0]}" if kind != "security" else None
        now = self.now()
        last = self._group_keys[-1] if self._group_keys else -1
        group = Group(
            index=last + 1,
            id=gid,
            display_name=display_name,
            description=None,
            kind=kind,
            mail_nickname=alias,
            mail=mail,
            proxy_addresses=[f"SMTP:{mail}"] if mail else [],
            visibility="Private" if kind == "unified" else None,
            created=now,
            when_changed=now,
            security_identifier=f"S-1-12-1-{seq}",
            exchange_object_guid=_guid_from(self.tenant_id, "gexobj", seq),
        )
        self.groups[gid] = group
        self._index_group(group)
        self.log.record("groups", gid, "upsert")
        return group

    def update_group(self, group_id: str, **changes: Any) -> Group:
        """Change group properties (display_name, description)."""
        group = self._group(group_id)
        for key, value in changes.items():
            if key not in GROUP_PROPERTIES:
                raise ChangeError(f"unknown group property {key!r}")
            setattr(group, key, value)
        group.when_changed = self.now()
        props = frozenset(GROUP_PROPERTIES[k] for k in changes)
        self.log.record("groups", group.id, "upsert", properties=props)
        return group

    def remove_group(self, group_id: str) -> None:
        """Delete a group (it leaves the groups it was nested in)."""
        group = self._group(group_id)
        for parent in list(self.groups.values()):
            if group.id in parent.members:
                self.remove_group_member(parent.id, group.id)
        self._unindex_group(group)
        del self.groups[group.id]
        self.log.record("groups", group.id, "delete")

    def add_group_member(self, group_id: str, member_id: str) -> None:
        """Add a user or group to a group (no-op if already a member)."""
        group = self._group(group_id)
        kind = self.object_kind(member_id)
        if kind is None:
            raise ChangeError(f"no user or group {member_id!r}")
        if member_id in group.members:
            return
        group.members[member_id] = None
        group.when_changed = self.now()
        self.log.record("groups", group.id, "member_add", member_id=member_id, member_type=kind)

    def remove_group_member(self, group_id: str, member_id: str) -> None:
        """Remove a member from a group (no-op if not a member)."""
        group = self._group(group_id)
        if member_id not in group.members:
            return
        kind = self.object_kind(member_id) or "user"
        del group.members[member_id]
        group.when_changed = self.now()
        self.log.record("groups", group.id, "member_remove", member_id=member_id, member_type=kind)

    # ---- permissions ------------------------------------------------------------------
    def grant_full_access(self, mailbox_id: str, trustee_id: str, *, deny: bool = False) -> None:
        """Add a Full Access (or Deny) entry for a trustee (user or group id)."""
        # The mailbox's security descriptor changes, so Exchange moves its WhenChanged.
        self._user(mailbox_id).when_changed = self.now()
        entries = self.full_access.setdefault(mailbox_id, [])
        entries[:] = [e for e in entries if e[0] != trustee_id]
        entries.append((trustee_id, FULL_ACCESS, deny))

    def revoke_full_access(self, mailbox_id: str, trustee_id: str) -> None:
        """Remove a trustee's explicit Full Access entries."""
        self._user(mailbox_id).when_changed = self.now()
        entries = self.full_access.get(mailbox_id, [])
        entries[:] = [e for e in entries if e[0] != trustee_id]

    def grant_send_as(self, mailbox_id: str, trustee_id: str) -> None:
        """Add a Send As grant (an ACL on the account: its WhenChanged moves)."""
        self._user(mailbox_id).when_changed = self.now()
        entries = self.send_as.setdefault(mailbox_id, [])
        if (trustee_id, False) not in entries:
            entries.append((trustee_id, False))

    def revoke_send_as(self, mailbox_id: str, trustee_id: str) -> None:
        """Remove a Send As grant."""
        self._user(mailbox_id).when_changed = self.now()
        entries = self.send_as.get(mailbox_id, [])
        entries[:] = [e for e in entries if e[0] != trustee_id]

    def set_send_on_behalf(self, mailbox_id: str, trustee_ids: list[str]) -> None:
        """Replace a mailbox's GrantSendOnBehalfTo list."""
        user = self._user(mailbox_id)
        user.send_on_behalf = list(trustee_ids)
        user.when_changed = self.now()

    def set_remote_mailbox(self, user_id: str, remote: bool = True) -> User:
        """Show a user's mailbox as a remote mailbox (``RemoteUserMailbox``,
        ``RemoteSharedMailbox``, ...), as Exchange does in a hybrid organization for a
        mailbox on the other side; ``remote=False`` shows it as an ordinary one again.
        Graph sees no change; Exchange's change time moves."""
        user = self._user(user_id)
        if user.mailbox is None:
            raise ChangeError(f"user {user_id} has no mailbox")
        user.remote = remote
        user.when_changed = self.now()
        return user

    def set_calendar_permission(
        self, mailbox_id: str, trustee: str, role: str, *, flags: int = 0
    ) -> None:
        """Set a calendar folder role (and SharingPermissionFlags) for a trustee."""
        self._user(mailbox_id)
        entries = self.calendar_permissions.setdefault(mailbox_id, [])
        entries[:] = [e for e in entries if e[0] != trustee]
        entries.append((trustee, role, flags))

    def remove_calendar_permission(self, mailbox_id: str, trustee: str) -> None:
        """Remove a trustee's calendar folder entry."""
        entries = self.calendar_permissions.get(mailbox_id, [])
        entries[:] = [e for e in entries if e[0] != trustee]

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

    def _group(self, group_id: str) -> Group:
        group = self.groups.get(group_id)
        if group is None:
            raise ChangeError(f"no group {group_id!r}")
        return group

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


def _guid_from(*parts: object) -> str:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest, version=4))
