"""Time zone names the console offers: the IANA names zoneinfo knows, checked in one place."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from sqlalchemy.orm import Session

from tenantsync.console.ops.errors import FieldErrors
from tenantsync.store.models import ConsoleAccount


@cache
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name, UTC first, then by name (legacy aliases such as "EST" left out)."""
    names = {
        n for n in available_timezones() if "/" in n and not n.startswith(("Etc/", "SystemV/"))
    }
    return ("UTC", *sorted(names))


def check_zone(name: str, field: str = "timezone") -> str:
    """A known zone name as given, or a field error naming the field."""
    name = name.strip()
    if name != "UTC" and name not in available_timezones():
        raise FieldErrors({field: f"{name!r} is not a known time zone (e.g. Europe/Berlin)"})
    return name


def set_display_zone(session: Session, account_id: int, name: str) -> str:
    """Show an account's times in the zone ``name`` from its next page on."""
    zone = check_zone(name)
    account = session.get(ConsoleAccount, account_id)
    assert account is not None  # the signed-in account exists
    account.timezone = zone
    return zone
