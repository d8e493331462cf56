"""Users: preview and run a user sync task, and list the synced mailboxes of an organization."""

from __future__ import annotations

from typing import Any

import typer
from sqlalchemy import select

from tenantsync.cli.common import emit_json, fmt_time, load_settings, open_db, out, table
from tenantsync.cli.runs import end_with, run_summary, run_switches, wait_for_run
from tenantsync.console.audit import record_cli
from tenantsync.errors import ConfigError
from tenantsync.store.directory import find_task, mailbox_matches, organization_by_name
from tenantsync.store.models import (
    Definition,
    Mailbox,
    MailboxKind,
    Run,
    ScheduledTask,
    Trigger,
)
from tenantsync.worker import queue

users_app = typer.Typer(help="User sync: preview, sync now, list mailboxes.", no_args_is_help=True)

SHOWN_CHANGES = 50


FULL_HELP = "read every user from the source, not only what changed since the last run"


def _run(
    task_name: str, trigger: Trigger, confirm_removals: bool, as_json: bool, *, full: bool
) -> None:
    settings = load_settings()
    db = open_db(settings)
    with db.session() as session:
        task = find_task(session, task_name)
        definition = session.get(Definition, task.definition_id)
        if definition is None or definition.type != "user_sync":
            raise ConfigError(f"task {task_name!r} is not a user sync task", field="task")
        run = queue.enqueue(
            session,
            task,
            trigger,
            requested_by="cli",
            confirm_removals=confirm_removals,
            full_read=full,
        )
        run_id = run.id
        action = "task.preview" if trigger is Trigger.PREVIEW else "task.run"
        record_cli(session, action, task.name, run_switches(run))
    status = wait_for_run(db, settings, run_id, quiet=as_json)
    with db.session() as session:
        run = session.get_one(Run, run_id)
        if as_json:
            emit_json(run_summary(run) | {"messages": run.messages, "plan": run.plan})
        else:
            _print(run)
        error = run.error
    end_with(run_id, status, error)


def _print(run: Run) -> None:
    plan: dict[str, Any] = run.plan or {}
    changes: list[dict[str, Any]] = plan.get("changes", [])
    if run.trigger is Trigger.PREVIEW and changes:
        table(
            f"plan (first {min(len(changes), SHOWN_CHANGES)} of {plan.get('total', len(changes))})",
            ["action", "what", "key", "reason"],
            [(c["action"], c["entity"], c["key"], c["reason"]) for c in changes[:SHOWN_CHANGES]],
        )
    counts = {k: v for k, v in run.counts.items() if not isinstance(v, dict)}
    table(f"run {run.id}: {run.status.value}", ["count", "value"], sorted(counts.items()))
    skipped = run.counts.get("skipped")
    if isinstance(skipped, dict) and skipped:
        table("not synced", ["reason", "users"], sorted(skipped.items()))
    for message in run.messages:
        out.print(f"{message.get('level', 'info')}: {message.get('text', message)}")


@users_app.command("preview")
def users_preview(
    task: str = typer.Argument(..., help="user sync task, or ORG/TASK"),
    full: bool = typer.Option(False, "--full", help=FULL_HELP),
    as_json: bool = typer.Option(False, "--json", help="JSON for scripts"),
) -> None:
    """Show what a sync would change, with a reason per user; nothing is written."""
    _run(task, Trigger.PREVIEW, False, as_json, full=full)


@users_app.command("sync")
def users_sync(
    task: str = typer.Argument(..., help="user sync task, or ORG/TASK"),
    confirm_removals: bool = typer.Option(
        False, "--confirm-removals", help="allow removals above the safety threshold"
    ),
    full: bool = typer.Option(False, "--full", help=FULL_HELP),
    as_json: bool = typer.Option(False, "--json", help="JSON for scripts"),
) -> None:
    """Sync now and show a summary of what changed."""
    _run(task, Trigger.MANUAL, confirm_removals, as_json, full=full)


@users_app.command("list")
def users_list(
    org: str = typer.Argument(..., help="organization"),
    kind: MailboxKind | None = typer.Option(None, "--kind", help="only mailboxes of this kind"),
    billable: bool | None = typer.Option(
        None, "--billable/--non-billable", help="only billable (or only non-billable) mailboxes"
    ),
    removed: bool = typer.Option(False, "--removed", help="removed (restorable) mailboxes"),
    search: str = typer.Option(
        "", "--search", help="name or address containing this text (any case, any accents)"
    ),
    as_json: bool = typer.Option(False, "--json", help="JSON for scripts"),
) -> None:
    """Synced mailboxes of an organization with kind, billing and policy group."""
    db = open_db(load_settings())
    with db.session() as session:
        organization = organization_by_name(session, org)
        query = select(Mailbox).where(Mailbox.organization_id == organization.id)
        query = query.where(
            Mailbox.deleted_at.is_not(None) if removed else Mailbox.deleted_at.is_(None)
        )
        if search.strip():
            query = query.where(mailbox_matches(search))
        if kind is not None:
            query = query.where(Mailbox.kind == kind)
        if billable is not None:
            query = query.where(Mailbox.billable if billable else ~Mailbox.billable)
        tasks: dict[int, str] = {}
        for tid, name in session.execute(
            select(ScheduledTask.id, ScheduledTask.name).where(
                ScheduledTask.organization_id == organization.id
            )
        ):
            tasks[tid] = name
        rows: list[dict[str, Any]] = [
            {
                "address": m.primary_address,
                "name": m.display_name,
                "kind": m.kind.value,
                "billable": m.billable,
                "non_billable_reason": m.non_billable_reason,
                "policy_group": m.policy_group.name if m.policy_group else None,
                "aliases": [a.address for a in m.aliases],
                "synced_by": tasks.get(m.synced_by_task_id or 0),
                "removed_at": m.deleted_at,
                "restore_until": m.restore_until,
            }
            for m in session.scalars(query.order_by(Mailbox.primary_address))
        ]
    if as_json:
        emit_json(rows)
        return
    table(
        f"{org}: {len(rows)} mailboxes",
        ["address", "kind", "billable", "policy group", "aliases", "restore until"],
        [
            (
                r["address"],
                r["kind"],
                "yes" if r["billable"] else f"no ({r['non_billable_reason']})",
                r["policy_group"] or "",
                len(r["aliases"]),
                fmt_time(r["restore_until"]),
            )
            for r in rows
        ],
    )
