"""When schedules fall due: intervals, cron in a time zone, allowed windows, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from tenantsync.errors import ConfigError
from tenantsync.worker.timing import Timing, parse_weekdays, weekdays_text


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_an_interval_is_due_at_once_then_every_interval() -> None:
    every_hour = Timing(interval_seconds=3600)
    now = utc(2026, 3, 1, 10, 17)
    assert every_hour.first_due(now) == now
    assert every_hour.next_due(now) == utc(2026, 3, 1, 11, 17)


def test_cron_follows_local_time_across_the_daylight_saving_change() -> None:
    at_two_berlin = Timing(cron="0 2 * * *", timezone="Europe/Berlin")
    # Winter: 02:00 in Berlin is 01:00 UTC; after 29 March 2026 it is 00:00 UTC.
    assert at_two_berlin.next_due(utc(2026, 3, 20, 12)) == utc(2026, 3, 21, 1)
    assert at_two_berlin.next_due(utc(2026, 4, 10, 12)) == utc(2026, 4, 11, 0)


def test_a_window_defers_due_times_to_its_opening() -> None:
    nights = Timing(
        interval_seconds=600, timezone="Europe/Berlin", window_start=time(22), window_end=time(6)
    )
    # 12:00 UTC is 13:00 in Berlin (winter): outside; the window opens at 22:00 local.
    assert nights.first_due(utc(2026, 1, 5, 12)) == utc(2026, 1, 5, 21)
    # Inside the window (23:00 local) the interval applies as is; the window wraps midnight.
    assert nights.next_due(utc(2026, 1, 5, 22)) == utc(2026, 1, 5, 22, 10)
    assert nights.in_window(utc(2026, 1, 6, 3))
    assert not nights.in_window(utc(2026, 1, 6, 6))


def test_cron_inside_a_window_skips_ticks_outside_it() -> None:
    hourly_office = Timing(cron="0 * * * *", window_start=time(9), window_end=time(17))
    assert hourly_office.next_due(utc(2026, 1, 5, 17, 30)) == utc(2026, 1, 6, 9)


@pytest.mark.parametrize(
    ("timing", "field"),
    [
        (Timing(), "interval/cron"),
        (Timing(interval_seconds=60, cron="* * * * *"), "interval/cron"),
        (Timing(interval_seconds=0), "interval"),
        (Timing(cron="every tuesday"), "cron"),
        (Timing(cron="* * * * * *"), "cron"),  # a sixth field would mean every second
        (Timing(cron="0 2 * *"), "cron"),
        (Timing(cron="@daily"), "cron"),
        (Timing(interval_seconds=367 * 86400), "interval"),
        (Timing(interval_seconds=60, timezone="Mars/Olympus"), "timezone"),
        (Timing(interval_seconds=60, window_start=time(9)), "window"),
        (Timing(interval_seconds=60, window_start=time(9), window_end=time(9)), "window"),
    ],
)
def test_an_impossible_schedule_is_refused_naming_the_field(timing: Timing, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        timing.validate()
    assert caught.value.field == field


def test_a_six_field_cron_is_refused_saying_five_fields_are_expected() -> None:
    with pytest.raises(ConfigError, match="5 fields"):
        Timing(cron="*/10 * * * * *").validate()


def test_a_cron_that_never_fires_in_its_window_says_so() -> None:
    never = Timing(cron="0 3 * * *", window_start=time(9), window_end=time(17))
    with pytest.raises(ConfigError, match="never fires inside the window"):
        never.next_due(utc(2026, 1, 1))


def test_weekdays_keep_an_office_hours_schedule_to_monday_to_friday() -> None:
    office = Timing(
        interval_seconds=900,
        timezone="Europe/Berlin",
        window_start=time(8),
        window_end=time(18),
        weekdays=(0, 1, 2, 3, 4),
    )
    # Friday 27 March 2026, 17:50 Berlin (16:50 UTC): the last run of the week is at 17:50;
    # the next is Monday 08:00, which is 06:00 UTC after the change to summer time.
    friday = utc(2026, 3, 27, 16, 50)
    assert office.upcoming(friday, 3) == [friday, utc(2026, 3, 30, 6), utc(2026, 3, 30, 6, 15)]
    assert office.sentence() == "every 15 minutes, 08:00\u201318:00 Europe/Berlin, Monday to Friday"


def test_a_night_window_belongs_to_the_weekday_it_opens_on() -> None:
    friday_nights = Timing(
        cron="0 * * * *", window_start=time(22), window_end=time(6), weekdays=(4,)
    )
    assert friday_nights.in_window(utc(2026, 1, 10, 3))  # Saturday 03:00: Friday's night
    assert not friday_nights.in_window(utc(2026, 1, 10, 23))  # Saturday night
    assert friday_nights.next_due(utc(2026, 1, 10, 6)) == utc(2026, 1, 16, 22)
    assert friday_nights.sentence() == "at the cron times 0 * * * *, 22:00\u201306:00 UTC, Friday"


def test_weekdays_are_read_by_name_and_an_empty_choice_is_refused() -> None:
    assert parse_weekdays("Mon, wed,FRIDAY") == (0, 2, 4)
    assert parse_weekdays("") is None
    assert weekdays_text((0, 1, 2, 3, 4, 5, 6)) is None
    with pytest.raises(ConfigError):
        parse_weekdays("someday")
    with pytest.raises(ConfigError):
        Timing(interval_seconds=60, weekdays=()).validate()
    assert Timing(interval_seconds=86400 * 2).sentence() == "every 2 days"
    assert Timing(interval_seconds=3600, weekdays=(5, 6)).sentence() == (
        "every hour, UTC, Saturday and Sunday"
    )
