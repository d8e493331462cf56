"""When a schedule is due: interval or cron (croniter), in a time zone, inside an allowed window
on allowed weekdays.

A cron expression has exactly five fields (minute hour day-of-month month day-of-week):
croniter reads a sixth as seconds, so "* * * * * *" would fire every second.

Windows and weekdays are read in the schedule's time zone, so "08:00-18:00 Europe/Berlin,
Monday to Friday" stays 08:00 local across a daylight saving change. A window that wraps
midnight (22:00-06:00) belongs to the day it opens on: "Friday" includes Saturday 03:00.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from tenantsync.errors import ConfigError

MAX_CRON_STEPS = 10_000
CRON_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
MAX_INTERVAL_SECONDS = 366 * 86400
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
UNITS = (("days", 86400), ("hours", 3600), ("minutes", 60), ("seconds", 1))


def parse_weekdays(text: str | None) -> tuple[int, ...] | None:
    """Weekdays ("mon,tue" or "Monday Tuesday") as 0=Monday..6=Sunday; None or empty: every day."""
    if not text or not text.strip():
        return None
    days: set[int] = set()
    for word in text.replace(",", " ").split():
        key = word.strip().lower()[:3]
        if key not in WEEKDAYS:
            raise ConfigError(
                f"{word!r} is not a weekday (give {', '.join(WEEKDAYS)})", field="weekdays"
            )
        days.add(WEEKDAYS.index(key))
    return tuple(sorted(days))


def weekdays_text(days: tuple[int, ...] | None) -> str | None:
    """Weekdays as stored and written in files: "mon,tue,wed"; None for every day."""
    if days is None or len(set(days)) == len(WEEKDAYS):
        return None
    return ",".join(WEEKDAYS[d] for d in sorted(set(days)))


def interval_in_unit(seconds: int) -> tuple[int, str]:
    """An interval as a number of the largest unit that divides it: (15, "minutes")."""
    for unit, size in UNITS:
        if seconds % size == 0:
            return seconds // size, unit
    return seconds, "seconds"  # pragma: no cover - 1 divides everything


@dataclass(frozen=True)
class Timing:
    """The parts of a schedule that decide due times."""

    interval_seconds: int | None = None
    cron: str | None = None
    timezone: str = "UTC"
    window_start: time | None = None
    window_end: time | None = None
    weekdays: tuple[int, ...] | None = None

    def validate(self) -> None:
        """Refuse a schedule that cannot produce due times, naming the field."""
        if (self.interval_seconds is None) == (self.cron is None):
            raise ConfigError("give exactly one of interval or cron", field="interval/cron")
        if self.interval_seconds is not None and self.interval_seconds < 1:
            raise ConfigError("must be at least 1 second", field="interval")
        if self.interval_seconds is not None and self.interval_seconds > MAX_INTERVAL_SECONDS:
            raise ConfigError("must be at most 366 days", field="interval")
        if self.cron is not None:
            self._check_cron(self.cron)
        self.zone()
        if (self.window_start is None) != (self.window_end is None):
            raise ConfigError("give both start and end, or neither", field="window")
        if self.window_start is not None and self.window_start == self.window_end:
            raise ConfigError("start and end are the same time", field="window")
        if self.weekdays is not None and not self.weekdays:
            raise ConfigError("pick at least one weekday", field="weekdays")

    @staticmethod
    def _check_cron(cron: str) -> None:
        fields = cron.split()
        if len(fields) != len(CRON_FIELDS):
            raise ConfigError(
                f"{cron!r} has {len(fields)} field{'s' if len(fields) != 1 else ''}; give 5 "
                f"fields: {' '.join(CRON_FIELDS)} (no seconds field)",
                field="cron",
            )
        if not croniter.is_valid(cron):
            raise ConfigError(f"{cron!r} is not a valid cron expression", field="cron")

    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"{self.timezone!r} is not a known time zone", field="timezone"
            ) from None

    def in_window(self, moment: datetime) -> bool:
        """Whether ``moment`` falls inside the allowed window on an allowed weekday."""
        local = moment.astimezone(self.zone())
        day = local.date()
        if self.window_start is not None and self.window_end is not None:
            now = local.time()
            if self.window_start < self.window_end:
                if not self.window_start <= now < self.window_end:
                    return False
            elif now < self.window_end:
                day -= timedelta(days=1)  # the night that opened yesterday
            elif now < self.window_start:
                return False
        return self.weekdays is None or day.weekday() in self.weekdays

    def window_opening(self, moment: datetime) -> datetime:
        """The first moment at or after ``moment`` inside the window on an allowed weekday."""
        if self.in_window(moment):
            return moment
        zone = self.zone()
        local = moment.astimezone(zone)
        start = self.window_start or time(0)
        for offset in range(len(WEEKDAYS) + 1):
            day = local.date() + timedelta(days=offset)
            if self.weekdays is not None and day.weekday() not in self.weekdays:
                continue
            opening = datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
            if opening > moment:
                return opening
        raise ConfigError("the schedule allows no weekday", field="weekdays")

    def upcoming(self, now: datetime, count: int = 5) -> list[datetime]:
        """The next ``count`` due times of a task armed at ``now`` that runs each time it is due."""
        due = [self.first_due(now)]
        while len(due) < count:
            due.append(self.next_due(due[-1]))
        return due

    def sentence(self) -> str:
        """In words: "every 15 minutes, 08:00-18:00 Europe/Berlin, Monday to Friday"."""
        if self.interval_seconds is not None:
            number, unit = interval_in_unit(self.interval_seconds)
            parts = [f"every {unit[:-1]}" if number == 1 else f"every {number} {unit}"]
        else:
            parts = [f"at the cron times {self.cron}"]
        if self.window_start is not None and self.window_end is not None:
            parts.append(f"{self.window_start:%H:%M}\u2013{self.window_end:%H:%M} {self.timezone}")
        elif self.cron is not None or self.weekdays is not None:
            parts.append(self.timezone)
        if self.weekdays is not None:
            parts.append(_days_in_words(self.weekdays))
        return ", ".join(parts)

    def first_due(self, now: datetime) -> datetime:
        """The first due time of a newly created task: now for intervals, the next cron tick."""
        if self.interval_seconds is not None:
            return self.window_opening(now)
        return self.next_due(now)

    def next_due(self, after: datetime) -> datetime:
        """The next due time strictly after ``after``."""
        if self.interval_seconds is not None:
            return self.window_opening(after + timedelta(seconds=self.interval_seconds))
        assert self.cron is not None
        it = croniter(self.cron, after.astimezone(self.zone()))
        for _ in range(MAX_CRON_STEPS):
            candidate: datetime = it.get_next(datetime).astimezone(UTC)
            if self.in_window(candidate):
                return candidate
        raise ConfigError(
            f"cron {self.cron!r} never fires inside the window "
            f"{self.window_start}-{self.window_end}",
            field="window",
        )


def _days_in_words(days: tuple[int, ...]) -> str:
    """ "Monday to Friday", "Monday, Wednesday and Friday", "every day"."""
    ordered = sorted(set(days))
    if len(ordered) == len(WEEKDAYS):
        return "every day"
    names = [DAY_NAMES[d] for d in ordered]
    if len(ordered) >= 3 and ordered[-1] - ordered[0] == len(ordered) - 1:
        return f"{names[0]} to {names[-1]}"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]
