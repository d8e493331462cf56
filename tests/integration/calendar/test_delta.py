"""Incremental runs after each kind of change: each arrives through calendarView/delta (or,
for a cancelled occurrence, which delta never signals, through the reconciliation), and
afterwards the replicas expand to exactly what the sandbox's calendarView shows."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from tenantsync.sandbox.admin_routes import apply_change
from tenantsync.sandbox.recurrence import occurrence_dates
from tenantsync.store.models import ChangeRecord
from tests.integration.calendar.harness import CalendarHarness, people
from tests.integration.calendar.test_first_replication import expanded


def removals(harness: CalendarHarness, run_id: int) -> dict[str, str]:
    """event id → why, of the replicas a run removed."""
    with harness.db.session() as s:
        rows = s.scalars(
            select(ChangeRecord).where(
                ChangeRecord.run_id == run_id, ChangeRecord.entity == "calendar_event"
            )
        ).all()
        return {r.key.split(" | ")[1]: (r.after or {}).get("removed") for r in rows}


def series_of(harness: CalendarHarness, user_id: str) -> str:
    events = harness.tenant.calendar(user_id)
    return next(
        e.id
        for e in events.values()
        if e.recurrence
        and len(occurrence_dates(e.recurrence, harness.tenant.calendar_end.date())) > 6
    )


def change(harness: CalendarHarness, op: str, **args: object) -> dict[str, object]:
    return apply_change(harness.tenant, op, dict(args))


def test_each_kind_of_change_arrives_and_the_replicas_match_calendar_view(
    harness: CalendarHarness,
) -> None:
    task = harness.task("calendars")
    assert harness.run(task).status == "succeeded"
    owner = people(harness.tenant)[0]
    start, end = harness.window()
    day = datetime.combine(datetime.now(UTC).date() + timedelta(days=3), time(10), UTC)

    added = change(
        harness,
        "add_event",
        mailbox_id=owner,
        subject="Planning",
        start=day.isoformat(),
        end=(day + timedelta(hours=1)).isoformat(),
        time_zone="W. Europe Standard Time",
    )
    moved_single = next(
        e
        for e in harness.tenant.calendar(owner).values()
        if e.recurrence is None and not e.is_all_day and e.start > day
    )
    change(
        harness,
        "update_event",
        mailbox_id=owner,
        event_id=moved_single.id,
        start=moved_single.start + timedelta(hours=2),
        end=moved_single.end + timedelta(hours=2),
    )
    series = series_of(harness, owner)
    event = harness.tenant.calendar(owner)[series]
    assert event.recurrence is not None
    dates = [
        d
        for d in occurrence_dates(event.recurrence, end.date())
        if d > datetime.now(UTC).date() and d not in event.cancelled and d not in event.overrides
    ]
    moved_day = dates[1]
    new_start = datetime.combine(moved_day, time(18), UTC)
    change(
        harness,
        "move_occurrence",
        mailbox_id=owner,
        event_id=series,
        occurrence=moved_day.isoformat(),
        start=new_start.isoformat(),
        end=(new_start + timedelta(minutes=30)).isoformat(),
        subject="Moved sync",
    )

    run = harness.run(task)
    assert run.status == "succeeded", run.messages
    assert run.counts["read_by_delta"] == run.counts["calendars_read"]
    kinds = harness.replicas(owner)
    assert kinds[str(added["id"])] == ("single", "Planning")
    assert ("exception", "Moved sync") in kinds.values()
    assert expanded(harness, owner) == harness.source_instances(owner, start, end)

    # A cancelled occurrence: delta never tells; the reconciliation does.
    cancelled_day = dates[2]
    change(
        harness,
        "cancel_occurrence",
        mailbox_id=owner,
        event_id=series,
        occurrence=cancelled_day.isoformat(),
    )
    quiet = harness.run(task)
    assert quiet.plan is not None and quiet.plan["total"] == 0
    reconcile = harness.task("reconcile", full_reconciliation_hours=0)
    full = harness.run(reconcile)
    assert full.status == "succeeded", full.messages
    assert full.counts["read_whole"] == full.counts["calendars_read"]
    assert expanded(harness, owner) == harness.source_instances(owner, start, end)
    assert full.counts["cancelled_occurrences"] >= 1

    # A series whose pattern changed; an event moved out of the window; one deleted.
    change(
        harness,
        "set_recurrence",
        mailbox_id=owner,
        event_id=series,
        pattern_type="weekly",
        interval=1,
        days_of_week=["tuesday", "thursday"],
    )
    outside = next(
        e
        for e in harness.tenant.calendar(owner).values()
        if e.recurrence is None
        and not e.is_all_day
        and e.start > day + timedelta(days=1)
        and e.id != moved_single.id
    )
    far = end + timedelta(days=30)
    change(
        harness,
        "update_event",
        mailbox_id=owner,
        event_id=outside.id,
        start=far.isoformat(),
        end=(far + timedelta(hours=1)).isoformat(),
    )
    change(harness, "remove_event", mailbox_id=owner, event_id=str(added["id"]))
    after = harness.run(task)
    assert after.status == "succeeded", after.messages
    why = removals(harness, after.id)
    assert why[outside.id] == "left window"
    assert why[str(added["id"])] == "deleted"
    assert expanded(harness, owner) == harness.source_instances(owner, start, end)


def test_a_deleted_series_takes_its_exceptions_and_cancellations_along(
    harness: CalendarHarness,
) -> None:
    task = harness.task("calendars")
    harness.run(task)
    owner = next(
        u
        for u in people(harness.tenant)
        if any(e.overrides for e in harness.tenant.calendar(u).values())
    )
    series = next(e.id for e in harness.tenant.calendar(owner).values() if e.overrides)
    held = [sid for sid in harness.replicas(owner) if sid == series or sid.startswith(series)]
    change(harness, "remove_event", mailbox_id=owner, event_id=series)
    run = harness.run(task)
    assert run.status == "succeeded", run.messages
    why = removals(harness, run.id)
    assert why[series] == "deleted"
    assert not any(sid.startswith(series) for sid in harness.replicas(owner))
    assert len(held) >= 2
    start, end = harness.window()
    assert expanded(harness, owner) == harness.source_instances(owner, start, end)
