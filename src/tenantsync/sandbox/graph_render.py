"""Graph v1.0 JSON shapes of users, groups, mailbox settings and events.

Field names and value types follow Microsoft's (and msgraph-sdk's) models; the same
getters serve `$select`, `$filter` and delta tracking.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time
from typing import Any

from tenantsync.sandbox import names
from tenantsync.sandbox.entities import CalendarEvent, Group, Recurrence, User
from tenantsync.sandbox.gen_calendar import zone
from tenantsync.sandbox.ids import outlook_id
from tenantsync.sandbox.recipients import USER_PURPOSE
from tenantsync.sandbox.recurrence import Instance

USER_TYPE = "#microsoft.graph.user"
GROUP_TYPE = "#microsoft.graph.group"
EVENT_TYPE = "#microsoft.graph.event"
USER_DEFAULT_SELECT = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)


def iso(value: datetime | None) -> str | None:
    """Graph's UTC timestamp form: 2024-01-02T03:04:05Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _on_prem(obj: User | Group, attr: str) -> Any:
    op = obj.on_premises
    return getattr(op, attr) if op is not None else None


UserGetter = Callable[[User], Any]
USER_FIELDS: dict[str, UserGetter] = {
    "id": lambda u: u.id,
    "businessPhones": lambda u: list(u.business_phones),
    "displayName": lambda u: u.display_name,
    "givenName": lambda u: u.given_name,
    "jobTitle": lambda u: u.job_title,
    "mail": lambda u: u.mail,
    "mobilePhone": lambda u: u.mobile_phone,
    "officeLocation": lambda u: u.office_location,
    "preferredLanguage": lambda u: u.language if u.mailbox else None,
    "surname": lambda u: u.surname,
    "userPrincipalName": lambda u: u.user_principal_name,
    "accountEnabled": lambda u: u.account_enabled,
    "assignedLicenses": lambda u: [{"disabledPlans": [], "skuId": s} for s in u.licenses],
    "companyName": lambda u: u.company_name,
    "createdDateTime": lambda u: iso(u.created),
    "creationType": lambda u: "Invitation" if u.user_type == "Guest" else None,
    "department": lambda u: u.department,
    "externalUserState": lambda u: "Accepted" if u.user_type == "Guest" else None,
    "mailNickname": lambda u: u.mail_nickname,
    "otherMails": lambda u: [],
    "proxyAddresses": lambda u: list(u.proxy_addresses),
    "showInAddressList": lambda u: None,
    "usageLocation": lambda u: "US" if u.licenses else None,
    "userType": lambda u: u.user_type,
    "onPremisesSyncEnabled": lambda u: True if u.on_premises else None,
    "onPremisesImmutableId": lambda u: _on_prem(u, "immutable_id"),
    "onPremisesSecurityIdentifier": lambda u: _on_prem(u, "security_identifier"),
    "onPremisesSamAccountName": lambda u: _on_prem(u, "sam_account_name"),
    "onPremisesDistinguishedName": lambda u: _on_prem(u, "distinguished_name"),
    "onPremisesDomainName": lambda u: _on_prem(u, "domain_name"),
    "onPremisesUserPrincipalName": lambda u: u.user_principal_name if u.on_premises else None,
    "onPremisesLastSyncDateTime": lambda u: iso(_on_prem(u, "last_sync")),
}

GroupGetter = Callable[[Group], Any]
GROUP_FIELDS: dict[str, GroupGetter] = {
    "id": lambda g: g.id,
    "deletedDateTime": lambda g: None,
    "classification": lambda g: None,
    "createdDateTime": lambda g: iso(g.created),
    "description": lambda g: g.description,
    "displayName": lambda g: g.display_name,
    "expirationDateTime": lambda g: None,
    "groupTypes": lambda g: ["Unified"] if g.kind == "unified" else [],
    "isAssignableToRole": lambda g: None,
    "mail": lambda g: g.mail,
    "mailEnabled": lambda g: g.mail_enabled,
    "mailNickname": lambda g: g.mail_nickname,
    "membershipRule": lambda g: None,
    "membershipRuleProcessingState": lambda g: None,
    "onPremisesDomainName": lambda g: _on_prem(g, "domain_name"),
    "onPremisesLastSyncDateTime": lambda g: iso(_on_prem(g, "last_sync")),
    "onPremisesNetBiosName": lambda g: _on_prem(g, "netbios_name"),
    "onPremisesSamAccountName": lambda g: _on_prem(g, "sam_account_name"),
    "onPremisesSecurityIdentifier": lambda g: _on_prem(g, "security_identifier"),
    "onPremisesSyncEnabled": lambda g: True if g.on_premises else None,
    "preferredDataLocation": lambda g: None,
    "preferredLanguage": lambda g: None,
    "proxyAddresses": lambda g: list(g.proxy_addresses),
    "renewedDateTime": lambda g: iso(g.when_changed if g.kind == "unified" else g.created),
    "securityEnabled": lambda g: g.security_enabled,
    "securityIdentifier": lambda g: g.security_identifier,
    "theme": lambda g: None,
    "visibility": lambda g: g.visibility,
    "onPremisesProvisioningErrors": lambda g: [],
}
GROUP_DEFAULT_SELECT = tuple(GROUP_FIELDS)


def filter_getters(fields: dict[str, Callable[[Any], Any]]) -> dict[str, Callable[[Any, str], Any]]:
    """The getters in the (object, name) form the $filter compiler takes."""
    return {name: _ignore_name(get) for name, get in fields.items()}


def _ignore_name(get: Callable[[Any], Any]) -> Callable[[Any, str], Any]:
    return lambda obj, _name: get(obj)


def render_user(user: User, select: tuple[str, ...] | None) -> dict[str, Any]:
    """A user as Graph returns it for `select` (None: the default property set)."""
    return {name: USER_FIELDS[name](user) for name in select or USER_DEFAULT_SELECT}


def render_group(group: Group, select: tuple[str, ...] | None) -> dict[str, Any]:
    """A group as Graph returns it for `select` (None: the default property set)."""
    return {name: GROUP_FIELDS[name](group) for name in select or GROUP_DEFAULT_SELECT}


def render_mailbox_settings(
    user: User, *, object_form: bool, purposes: dict[str, str] | None = None
) -> dict[str, Any]:
    """`/users/{id}/mailboxSettings` (userPurpose as a string, or the older object form);
    ``purposes`` overrides the value served per mailbox kind (values Graph adds later)."""
    purpose = USER_PURPOSE[user.mailbox] if user.mailbox else "unknownFutureValue"
    if user.mailbox and purposes and user.mailbox in purposes:
        purpose = purposes[user.mailbox]
    tz = user.time_zone
    return {
        "archiveFolder": outlook_id("archive", user.id),
        "timeZone": tz,
        "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
        "dateFormat": "M/d/yyyy",
        "timeFormat": "h:mm tt",
        "userPurpose": {"value": purpose} if object_form else purpose,
        "automaticRepliesSetting": {
            "status": "disabled",
            "externalAudience": "all",
            "internalReplyMessage": "",
            "externalReplyMessage": "",
            "scheduledStartDateTime": {
                "dateTime": "2024-01-01T00:00:00.0000000",
                "timeZone": "UTC",
            },
            "scheduledEndDateTime": {"dateTime": "2024-01-02T00:00:00.0000000", "timeZone": "UTC"},
        },
        "language": {
            "locale": user.language,
            "displayName": names.LANGUAGE_NAMES.get(user.language, user.language),
        },
        "workingHours": {
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "startTime": "08:00:00.0000000",
            "endTime": "17:00:00.0000000",
            "timeZone": {"name": tz},
        },
    }


def _when(value: datetime, event_zone: str, tz_name: str, all_day: bool) -> dict[str, str]:
    if all_day:
        # An all-day event runs midnight to midnight of its own zone: its dates, whatever
        # zone the client asked for.
        local = datetime.combine(value.astimezone(zone(event_zone)).date(), time())
    else:
        local = value.astimezone(zone(tz_name)).replace(tzinfo=None)
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": tz_name}


def render_occurrence(item: Instance, tz_name: str) -> dict[str, Any]:
    """An occurrence as a calendarView/delta round gives it: id, series, type, start, end
    (Outlook leaves everything else to the series master)."""
    ev = item.event
    return {
        "@odata.type": EVENT_TYPE,
        "@odata.etag": f'W/"{ev.change_key}"',
        "id": instance_id(item),
        "seriesMasterId": ev.id,
        "type": item.kind,
        "start": _when(item.start, ev.time_zone, tz_name, ev.is_all_day),
        "end": _when(item.end, ev.time_zone, tz_name, ev.is_all_day),
    }


def render_recurrence(event: CalendarEvent, rec: Recurrence) -> dict[str, Any]:
    """A series' pattern and range in Graph's shape (``0001-01-01``: no end date)."""
    if rec.number_of_occurrences:
        kind = "numbered"
    elif rec.end_date is not None:
        kind = "endDate"
    else:
        kind = "noEnd"
    return {
        "pattern": {
            "type": rec.pattern_type,
            "interval": rec.interval,
            "month": rec.month,
            "dayOfMonth": rec.day_of_month,
            "daysOfWeek": list(rec.days_of_week),
            "firstDayOfWeek": rec.first_day_of_week,
            "index": rec.index,
        },
        "range": {
            "type": kind,
            "startDate": rec.start_date.isoformat(),
            "endDate": rec.end_date.isoformat() if rec.end_date else "0001-01-01",
            "recurrenceTimeZone": event.time_zone,
            "numberOfOccurrences": rec.number_of_occurrences,
        },
    }


def render_master(event: CalendarEvent, owner: User, tz_name: str) -> dict[str, Any]:
    """A series master or single event as GET /events/{id} gives it."""
    kind = "seriesMaster" if event.recurrence is not None else "singleInstance"
    item = Instance(event, kind, None, event.start, event.end, event.subject)
    out = render_instance(item, owner, tz_name)
    out["type"] = kind
    out["recurrence"] = (
        render_recurrence(event, event.recurrence) if event.recurrence is not None else None
    )
    return out


def instance_id(item: Instance) -> str:
    """The id calendarView gives an item (occurrences get their own)."""
    return outlook_id(item.event.id, item.occurrence) if item.occurrence else item.event.id


def _change_key(item: Instance) -> str:
    override = item.event.overrides.get(item.occurrence) if item.occurrence else None
    return (
        override.change_key
        if override is not None and override.change_key
        else (item.event.change_key)
    )


def render_instance(item: Instance, owner: User, tz_name: str) -> dict[str, Any]:
    """One calendarView item (single event, occurrence or exception) in zone `tz_name`."""
    ev = item.event
    is_series = item.occurrence is not None
    item_id = instance_id(item)
    is_organizer = ev.organizer_address.lower() == (owner.mail or "").lower()
    return {
        "@odata.etag": f'W/"{_change_key(item)}"',
        "id": item_id,
        "createdDateTime": ev.created.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "lastModifiedDateTime": ev.last_modified.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "changeKey": _change_key(item),
        "categories": list(ev.categories),
        "transactionId": None,
        "originalStartTimeZone": ev.time_zone,
        "originalEndTimeZone": ev.time_zone,
        "iCalUId": outlook_id(ev.ical_uid, item.occurrence)[5:] if is_series else ev.ical_uid,
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": not ev.is_all_day,
        "hasAttachments": bool(ev.attachments),
        "subject": item.subject,
        "bodyPreview": item.subject,
        "importance": "normal",
        "sensitivity": ev.sensitivity,
        "isAllDay": ev.is_all_day,
        "isCancelled": ev.is_cancelled,
        "isOrganizer": is_organizer,
        "responseRequested": True,
        "seriesMasterId": ev.id if is_series else None,
        "showAs": ev.show_as,
        "type": item.kind,
        "webLink": f"https://outlook.office365.com/owa/?itemid={item_id}&exvsurl=1&path=/calendar/item",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": ev.is_online_meeting,
        "onlineMeetingProvider": "teamsForBusiness" if ev.is_online_meeting else "unknown",
        "allowNewTimeProposals": True,
        "isDraft": False,
        "hideAttendees": False,
        "originalStart": iso(datetime.combine(item.occurrence, ev.start.timetz()))
        if item.occurrence
        else None,
        "responseStatus": {
            "response": "organizer" if is_organizer else "accepted",
            "time": "0001-01-01T00:00:00Z",
        },
        "body": {"contentType": "html", "content": ev.body},
        "start": _when(item.start, ev.time_zone, tz_name, ev.is_all_day),
        "end": _when(item.end, ev.time_zone, tz_name, ev.is_all_day),
        "location": {
            "displayName": ev.location,
            "locationType": "default",
            "uniqueIdType": "unknown",
        }
        if ev.location
        else {"displayName": "", "locationType": "default", "uniqueIdType": "unknown"},
        "locations": [
            {"displayName": ev.location, "locationType": "default", "uniqueIdType": "unknown"}
        ]
        if ev.location
        else [],
        "recurrence": None,  # calendarView lists occurrences, never series masters
        "attendees": [
            {
                "type": a.type,
                "status": {"response": a.response, "time": "0001-01-01T00:00:00Z"},
                "emailAddress": {"name": a.name, "address": a.address},
            }
            for a in ev.attendees
        ],
        "organizer": {"emailAddress": {"name": ev.organizer_name, "address": ev.organizer_address}},
        "onlineMeeting": {"joinUrl": f"https://teams.microsoft.com/l/meetup-join/{ev.id[-16:]}"}
        if ev.is_online_meeting
        else None,
    }
