"""A working run's progress in words: stage, n of N, the rate over the stage, the time left."""

from __future__ import annotations

from tenantsync.console.ops.progress import progress_of
from tenantsync.store.models import RunStatus

BEGAN = "2026-01-05T10:00:00+00:00"


def test_a_count_with_a_total_gives_a_rate_and_the_time_left() -> None:
    shown = progress_of(
        7,
        RunStatus.RUNNING,
        {
            "stage": "read",
            "done": 1200,
            "total": 5000,
            "stage_started_at": BEGAN,
            "at": "2026-01-05T10:00:05+00:00",
        },
    )
    assert (shown.rate, shown.eta_seconds) == (240.0, 15.8)
    assert shown.text == "read: 1,200 of 5,000 · 240 a second · about 16 s left"


def test_a_count_without_a_total_has_a_rate_but_no_end() -> None:
    shown = progress_of(
        7,
        RunStatus.RUNNING,
        {
            "stage": "reading users",
            "done": 5,
            "stage_started_at": BEGAN,
            "at": "2026-01-05T10:00:02+00:00",
        },
    )
    assert shown.text == "reading users: 5 · 2.5 a second"


def test_a_run_not_working_shows_its_status_whatever_it_last_published() -> None:
    assert progress_of(7, RunStatus.RUNNING, None).text == "running"
    ended = progress_of(7, RunStatus.AWAITING_CONFIRMATION, {"stage": "read", "done": 3})
    assert ended.text == "awaiting confirmation" and ended.finished and ended.done is None
