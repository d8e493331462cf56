"""Notifications in the store: subscriptions, the outbox of deliveries and its log.

A run that ends stopped at the removal threshold, failed, or failed reaching its source
puts one pending delivery per matching subscription in the outbox, in the transaction that
records how the run ended; webhooks subscribed to ``changes`` get the change feed in
batches, one batch in flight at a time so the receiver sees it in order. The worker's
dispatcher sends what is due, outside any run, and records each attempt here: delivered,
or tried again after a doubling pause, or failed for good after :data:`MAX_ATTEMPTS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, exists, func, select, update
from sqlalchemy.orm import Session

from tenantsync.store import feed
from tenantsync.store.models import (
    ConsoleAccount,
    NotificationDelivery,
    NotificationSubscription,
    Organization,
    Role,
    Run,
    ScheduledTask,
)
from tenantsync.timeutil import utcnow

STOPPED = "awaiting_confirmation"
FAILED = "failed"
CONNECTION = "connection"
CHANGES = "changes"
RESYNC = "resync_needed"
EVENTS = (STOPPED, FAILED, CONNECTION, CHANGES)
EVENT_TITLES = {
    STOPPED: "threshold stops (awaiting confirmation)",
    FAILED: "failed runs",
    CONNECTION: "connection problems",
    CHANGES: "change feed events (webhooks only)",
}
CHANNELS = ("email", "webhook")
PENDING, DELIVERED, GAVE_UP = "pending", "delivered", "failed"
MAX_ATTEMPTS = 6
FIRST_RETRY_SECONDS = 30.0
CLAIM_SECONDS = 120.0  # how long a dispatcher owns a delivery it is sending
BATCH = 200  # change feed events per webhook delivery


def run_ended(session: Session, run_id: int, event: str) -> int:
    """Queue ``event`` about a run that just ended for every subscription to it; how many."""
    row = session.execute(
        select(Run, ScheduledTask, Organization)
        .join(ScheduledTask, ScheduledTask.id == Run.task_id)
        .join(Organization, Organization.id == ScheduledTask.organization_id)
        .where(Run.id == run_id)
    ).first()
    if row is None:
        return 0
    run, task, org = row
    payload: dict[str, Any] = {
        "event": event,
        "organization": org.name,
        "organization_id": org.id,
        "task": task.name,
        "run_id": run.id,
        "status": run.status.value,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "error": run.error,
        "stop_reason": run.stop_reason,
    }
    what = {STOPPED: "stopped, awaiting confirmation", CONNECTION: "could not reach its source"}
    summary = f"{org.name}: task {task.name}, run {run.id} {what.get(event, 'failed')}"
    subscriptions = session.scalars(
        select(NotificationSubscription)
        .join(ConsoleAccount, ConsoleAccount.id == NotificationSubscription.account_id)
        .where(NotificationSubscription.organization_id == org.id, ~ConsoleAccount.disabled)
    ).all()
    count = 0
    for sub in subscriptions:
        if event in sub.events:
            session.add(_delivery(sub.id, event, summary[:500], payload))
            count += 1
    return count


def _delivery(subscription_id: int, event: str, summary: str, payload: dict[str, Any]) -> Any:
    return NotificationDelivery(
        subscription_id=subscription_id,
        event=event,
        summary=summary,
        payload=payload,
        status=PENDING,
        attempts=0,
        next_attempt_at=utcnow(),
    )


def queue_changes(session: Session) -> int:
    """Queue the next batch of change feed events for each webhook subscribed to them that
    has none in flight; how many batches were queued."""
    in_flight = exists().where(
        NotificationDelivery.subscription_id == NotificationSubscription.id,
        NotificationDelivery.status == PENDING,
        NotificationDelivery.event.in_((CHANGES, RESYNC)),
    )
    subs = session.execute(
        select(NotificationSubscription, ConsoleAccount.role)
        .join(ConsoleAccount, ConsoleAccount.id == NotificationSubscription.account_id)
        .where(
            NotificationSubscription.channel == "webhook",
            NotificationSubscription.feed_cursor.is_not(None),
            ~ConsoleAccount.disabled,
            ~in_flight,
        )
    ).all()
    queued = 0
    for sub, role in subs:
        if CHANGES not in sub.events:
            continue
        assert sub.feed_cursor is not None
        # Grant data for super administrators only (console/ops/grant_data.py's rule).
        found = feed.read(
            session, sub.organization_id, sub.feed_cursor, BATCH, grants=role is Role.SUPER_ADMIN
        )
        if isinstance(found, feed.ResyncNeeded):
            payload = {
                "event": RESYNC,
                "organization_id": sub.organization_id,
                "cursor": str(found.after),
                "oldest": str(found.oldest),
                "latest": str(found.latest),
                "next": str(found.latest),
            }
            summary = f"change feed: cursor {found.after} no longer retained, resync"
            session.add(_delivery(sub.id, RESYNC, summary, payload))
            queued += 1
        elif found.next > sub.feed_cursor and found.events:
            payload = {
                "event": CHANGES,
                "organization_id": sub.organization_id,
                "after": str(sub.feed_cursor),
                "next": str(found.next),
                "items": [e.to_json() for e in found.events],
            }
            summary = f"change feed: {len(found.events)} changes after cursor {sub.feed_cursor}"
            session.add(_delivery(sub.id, CHANGES, summary, payload))
            queued += 1
        elif found.next > sub.feed_cursor:  # only events this account may not see
            sub.feed_cursor = found.next
    return queued


def delivery_log() -> Select[NotificationDelivery, NotificationSubscription, str]:
    """Deliveries with their subscription and its account's address, newest first."""
    return (
        select(NotificationDelivery, NotificationSubscription, ConsoleAccount.email)
        .join(
            NotificationSubscription,
            NotificationSubscription.id == NotificationDelivery.subscription_id,
        )
        .join(ConsoleAccount, ConsoleAccount.id == NotificationSubscription.account_id)
        .order_by(NotificationDelivery.id.desc())
    )


@dataclass(frozen=True)
class Due:
    """A delivery a dispatcher has claimed, with what it needs to send it."""

    id: int
    attempt: int
    event: str
    summary: str
    payload: dict[str, Any]
    channel: str
    email: str | None
    url: str | None
    secret_ciphertext: bytes | None


def claim_due(session: Session, *, limit: int = 20, now: datetime | None = None) -> list[Due]:
    """Claim up to ``limit`` deliveries that are due (one attempt each; another dispatcher
    skips them until :data:`CLAIM_SECONDS` pass); commit before sending."""
    now = now or utcnow()
    rows = session.execute(
        select(NotificationDelivery, NotificationSubscription)
        .join(
            NotificationSubscription,
            NotificationSubscription.id == NotificationDelivery.subscription_id,
        )
        .where(NotificationDelivery.status == PENDING, NotificationDelivery.next_attempt_at <= now)
        .order_by(NotificationDelivery.id)
        .limit(limit)
    ).all()
    claimed: list[Due] = []
    for delivery, sub in rows:
        took = session.execute(
            update(NotificationDelivery)
            .where(
                NotificationDelivery.id == delivery.id,
                NotificationDelivery.status == PENDING,
                NotificationDelivery.attempts == delivery.attempts,
            )
            .values(
                attempts=delivery.attempts + 1,
                next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS),
            )
        )
        if took.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(
                Due(
                    delivery.id,
                    delivery.attempts + 1,
                    delivery.event,
                    delivery.summary,
                    dict(delivery.payload),
                    sub.channel,
                    sub.email,
                    sub.url,
                    sub.secret_ciphertext,
                )
            )
    return claimed


def record_attempt(
    session: Session, due: Due, error: str | None, code: int | None, *, now: datetime | None = None
) -> None:
    """Keep how an attempt went: delivered (a change batch moves the cursor), or tried again
    after a doubling pause, or given up after :data:`MAX_ATTEMPTS`."""
    now = now or utcnow()
    delivery = session.get(NotificationDelivery, due.id)
    if delivery is None:
        return
    delivery.response_code = code
    if error is None:
        delivery.status = DELIVERED
        delivery.delivered_at = now
        delivery.last_error = None
        if due.event in (CHANGES, RESYNC):
            sub = session.get(NotificationSubscription, delivery.subscription_id)
            if sub is not None:
                sub.feed_cursor = int(due.payload["next"])
        return
    delivery.last_error = error[:1000]
    in_order = due.event in (CHANGES, RESYNC)  # never given up: later batches wait behind it
    if due.attempt >= MAX_ATTEMPTS and not in_order:
        delivery.status = GAVE_UP
    else:
        pause = FIRST_RETRY_SECONDS * 2 ** min(due.attempt - 1, MAX_ATTEMPTS)
        delivery.next_attempt_at = now + timedelta(seconds=pause)


def _old_deliveries(organization_id: int, cutoff: datetime) -> Any:
    subs = select(NotificationSubscription.id).where(
        NotificationSubscription.organization_id == organization_id
    )
    return (
        NotificationDelivery.subscription_id.in_(subs),
        NotificationDelivery.status != PENDING,
        NotificationDelivery.created_at < cutoff,
    )


def count_old_deliveries(session: Session, organization_id: int, cutoff: datetime) -> int:
    """How many of the organization's finished deliveries were queued before ``cutoff``."""
    where = _old_deliveries(organization_id, cutoff)
    return session.scalar(select(func.count()).where(*where)) or 0


def prune_deliveries(session: Session, organization_id: int, cutoff: datetime) -> None:
    """Forget the organization's finished deliveries queued before ``cutoff`` (the log)."""
    session.execute(delete(NotificationDelivery).where(*_old_deliveries(organization_id, cutoff)))
