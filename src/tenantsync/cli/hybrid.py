"""Hybrid deployments: exported files for a connection, and the cross-premises report and
migration batches of a task (plan, inspect, export).

The CLI is the operator's tool with database access: it shows grants; the console shows
them to super administrators only.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from tenantsync.cli.common import emit_json, load_settings, open_db, out, table
from tenantsync.cli.runs import end_with, wait_for_run
from tenantsync.engine.hybrid import views
from tenantsync.engine.hybrid.files import (
    add_file,
    check_file,
    list_files,
    parse_side,
    remove_file,
)
from tenantsync.errors import ConfigError, NotFound
from tenantsync.store.directory import find_connection, find_task
from tenantsync.store.models import Run, Trigger
from tenantsync.worker import queue

app = typer.Typer(
    help="Hybrid deployments: exported files, the cross-premises report, migration batches.",
    no_args_is_help=True,
)
files_app = typer.Typer(help="Exported cmdlet files of a connection.", no_args_is_help=True)
app.add_typer(files_app, name="files")

SIDE = typer.Option(
    "auto", "--side", help="on-premises, cloud, or auto (the file's content or the default)"
)
JSON = typer.Option(False, "--json", help="JSON for scripts")


@files_app.command("add")
def files_add(
    connection: str = typer.Argument(..., help="the exported-files connection (NAME or ORG/NAME)"),
    paths: list[Path] = typer.Argument(..., help="files of cmdlet output (csv, json, xml)"),
    side: str = SIDE,
) -> None:
    """Check FILES and keep them for CONNECTION; a file that cannot be read is refused with
    its line and column, and no file of the command is kept."""
    settings = load_settings()
    db = open_db(settings)
    chosen = parse_side(side)
    with db.session() as session:
        conn = find_connection(session, connection)
        data = {}
        for path in paths:
            try:
                data[path.name] = path.read_bytes()
            except OSError as exc:
                raise ConfigError(f"cannot read {path}: {exc.strerror}", field="file") from None
        for name, content in data.items():  # every file checked before any is kept
            check_file(conn, name, content, chosen)
        rows = []
        for name, content in data.items():
            summary = add_file(settings, conn, name, content, chosen)
            rows.append((summary.name, summary.cmdlet.value, summary.format.value, summary.objects,
                         summary.side.value, summary.side_reason))  # fmt: skip
    table(
        f"kept for {connection}",
        ["file", "cmdlet", "format", "objects", "side", "side because"],
        rows,
    )


@files_app.command("list")
def files_list(
    connection: str = typer.Argument(..., help="the exported-files connection"),
    as_json: bool = JSON,
) -> None:
    """The files uploaded to CONNECTION (its folder, if it has one, is read at every run)."""
    settings = load_settings()
    db = open_db(settings)
    with db.session() as session:
        conn = find_connection(session, connection)
        found = list_files(settings, conn.id)
    if as_json:
        emit_json([vars(f) for f in found])
        return
    table(None, ["file", "side folder", "bytes"], [(f.name, f.side, f.size) for f in found])


@files_app.command("remove")
def files_remove(
    connection: str = typer.Argument(..., help="the exported-files connection"),
    name: str = typer.Argument(..., help="the file's name as `files list` shows it"),
) -> None:
    """Forget one uploaded file."""
    settings = load_settings()
    db = open_db(settings)
    with db.session() as session:
        conn = find_connection(session, connection)
        remove_file(settings, conn.id, name)
    out.print(f"removed {name}")


@app.command("plan")
def plan(
    task: str = typer.Argument(..., help="a hybrid_report or migration_batches task"),
    preview: bool = typer.Option(False, "--preview", help="run as a preview"),
    as_json: bool = JSON,
) -> None:
    """Run TASK here now and show what it found (the report stays on the run)."""
    settings = load_settings()
    db = open_db(settings)
    with db.session() as session:
        found = find_task(session, task)
        if found.definition.type not in views.REPORT_TYPES:
            raise ConfigError(f"task {task!r} is a {found.definition.type} task", field="task")
        trigger = Trigger.PREVIEW if preview else Trigger.MANUAL
        run_id = queue.enqueue(session, found, trigger, requested_by="cli").id
    status = wait_for_run(db, settings, run_id, quiet=as_json)
    with db.session() as session:
        run = session.get_one(Run, run_id)
        error = run.error
        if run.report is not None:
            _summary(run, as_json)
        elif as_json:
            emit_json({"id": run.id, "status": run.status.value, "error": run.error})
    end_with(run_id, status, error)


@app.command("inspect")
def inspect(
    what: str = typer.Argument(..., help="a task (its newest report) or a run id"),
    batch: str | None = typer.Option(None, "--batch", help="one batch: members, broken grants"),
    category: str = typer.Option("", "--category", help="only grants of this category"),
    right: str = typer.Option("", "--right", help="only grants of this right"),
    direction: str = typer.Option("", "--direction", help="e.g. cloud→on_premises"),
    search: str = typer.Option("", "--search", help="only grants naming this address part"),
    limit: int = typer.Option(50, "--limit", min=0, help="rows shown"),
    as_json: bool = JSON,
) -> None:
    """A report: counts and filtered grants, or batches (one with --batch)."""
    db = open_db(load_settings())
    with db.session() as session:
        run = _run(session, what)
        report: dict[str, Any] = dict(run.report or {})
    f = views.GrantFilter(category, right, direction, search)
    if report.get("kind") == "migration_batches":
        _inspect_batches(report, batch, limit, as_json)
        return
    rows = views.grants(report, f)
    if as_json:
        emit_json({"counts": report["counts"], "grants": rows[:limit] if limit else rows})
        return
    _counts(report)
    table(
        f"grants ({len(rows)} match, first {min(limit, len(rows))})",
        ["mailbox", "trustee", "right", "direction", "category", "reason"],
        [
            (g["mailbox"], g["trustee"], g["right"], g["direction"], g["category"],
             g["reason_text"])
            for g in rows[:limit]
        ],
    )  # fmt: skip


@app.command("export")
def export(
    what: str = typer.Argument(..., help="a task (its newest report) or a run id"),
    kind: str = typer.Option(
        "grants", "--what", help="grants, commands, batches, broken or migration"
    ),
    fmt: str = typer.Option("csv", "--format", help="csv or json"),
    batch: str | None = typer.Option(None, "--batch", help="the batch (broken, migration)"),
    category: str = typer.Option("", "--category"),
    right: str = typer.Option("", "--right"),
    direction: str = typer.Option("", "--direction"),
    output: Path | None = typer.Option(None, "--output", "-o", help="file (default: stdout)"),
) -> None:
    """Export a report: its grants, Send As command pairs, batches, broken grants, or a
    batch's CSV for New-MigrationBatch -CSVData."""
    if fmt not in ("csv", "json"):
        raise ConfigError("csv or json", field="format")
    db = open_db(load_settings())
    with db.session() as session:
        report = dict(_run(session, what).report or {})
    text = views.export(report, kind, fmt, views.GrantFilter(category, right, direction), batch)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        out.print(f"wrote {output}")


def _run(session: Any, what: str) -> Run:
    if what.isdigit():
        run = session.get(Run, int(what))
        if run is None:
            raise NotFound(f"no run {what}")
        if run.report is None:
            raise NotFound(f"run {what} holds no report")
        return run  # type: ignore[no-any-return]
    return views.last_report_run(session, find_task(session, what).id)


def _counts(report: dict[str, Any]) -> None:
    counts = report["counts"]
    table(
        "grants by category",
        ["category", "grants", "meaning"],
        [(k, v, report["categories"].get(k, "")) for k, v in counts["by_category"].items()],
    )
    table(
        "prerequisites",
        ["prerequisite", "met", "found", "fix"],
        [(p["name"], {True: "yes", False: "NO", None: "?"}[p["met"]], p["detail"], p["fix"])
         for p in report["prerequisites"]],
    )  # fmt: skip


def _summary(run: Run, as_json: bool) -> None:
    report = run.report or {}
    if as_json:
        emit_json({"id": run.id, "status": run.status.value, "counts": run.counts})
        return
    out.print(f"run {run.id} {run.status.value}")
    if report.get("kind") == "migration_batches":
        table(None, ["count", "value"], sorted(run.counts.items()))
        for warning in report.get("warnings", []):
            out.print(f"warning: {warning}")
    else:
        _counts(report)
    for message in run.messages or []:
        out.print(f"{message.get('level', 'info')}: {message.get('text')}")


def _inspect_batches(report: dict[str, Any], name: str | None, limit: int, as_json: bool) -> None:
    if name is None:
        rows = views.batch_rows(report)
        if as_json:
            emit_json({"totals": report["totals"], "batches": rows,
                       "service_accounts": report["service_accounts"]})  # fmt: skip
            return
        table("batches", ["batch", "mailboxes", "completion groups", "broken", "weight"],
              [tuple(r.values()) for r in rows])  # fmt: skip
        table("service accounts", ["trustee", "mailboxes", "share", "left out", "why"],
              [(s["address"], s["mailboxes"], f"{s['share']:.0%}", s["excluded"], s["why"])
               for s in report["service_accounts"]])  # fmt: skip
        return
    members = views.members(report, name)
    broken = views.broken(report, name)
    if as_json:
        emit_json({"batch": name, "members": members, "broken": broken})
        return
    table(f"{name}: {len(members)} mailboxes", ["mailbox"], [(m,) for m in members[:limit]])
    table(
        f"{name}: {len(broken)} grants broken at its boundary",
        ["mailbox", "trustee", "right", "weight", "batches", "commands after the move"],
        [(b["mailbox"], b["trustee"], b["right"], b["weight"],
          f"{b['mailbox_batch']} / {b['trustee_batch']}", "\n".join(b["commands"]))
         for b in broken[:limit]],
    )  # fmt: skip
