"""When a schedule is due: interval or cron (croniter), in a time zone, inside an allowed window.

A cron expression has exactly five fields (minute hour day-of-month month day-of-week):
croniter reads a sixth as seconds, so "* * * * * *" would fire every second.
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


@dataclass(frozen=True)
class Timing:
    """The parts of a schedule that decide due times."""

    interval_seconds: int | None = None
    cron: str | None = None
    timezone: str = "UTC"
    window_start: time | None = None
    window_end: time | None = None

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
        """Whether ``moment`` falls inside the allowed window (always, without one)."""
        if self.window_start is None or self.window_end is None:
            return True
        local = moment.astimezone(self.zone()).time()
        if self.window_start < self.window_end:
            return self.window_start <= local < self.window_end
        return local >= self.window_start or local < self.window_end

    def window_opening(self, moment: datetime) -> datetime:
        """The first moment at or after ``moment`` inside the window."""
        if self.in_window(moment) or self.window_start is None:
            return moment
        zone = self.zone()
        local = moment.astimezone(zone)
        opening = datetime.combine(local.date(), self.window_start, tzinfo=zone)
        if opening <= local:
            opening += timedelta(days=1)
        return opening.astimezone(UTC)

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
