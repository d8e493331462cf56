"""Set-up commands: init, db upgrade, config show, apply, export."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy import select

from tenantsync.cli.common import emit_json, load_settings, open_box, open_db, out
from tenantsync.config import apply_document, export_organization, load_document
from tenantsync.console.audit import record_cli
from tenantsync.engine.registry import default_registry
from tenantsync.errors import ConfigError
from tenantsync.store.accounts import create_account
from tenantsync.store.models import ConsoleAccount, Role

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
config_app = typer.Typer(help="Effective settings.", no_args_is_help=True)


def init(
    admin: str = typer.Option(..., "--admin", help="email of the first super administrator"),
) -> None:
    """Create the data directory, the key, the database and the first super administrator."""
    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    open_box(settings, create=True)
    db = open_db(settings, check=False)
    db.upgrade()
    with db.session() as session:
        if session.scalar(select(ConsoleAccount.id).limit(1)) is not None:
            raise ConfigError("the database already has console accounts; init runs once")
        password = (
            settings.admin_password.get_secret_value()
            if settings.admin_password
            else typer.prompt(f"Password for {admin}", hide_input=True, confirmation_prompt=True)
        )
        create_account(session, admin, password, Role.SUPER_ADMIN)
        record_cli(session, "init", admin.lower(), {"data_dir": str(settings.data_dir)})
    out.print(f"initialized {settings.data_dir}; super administrator {admin.lower()} created")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database schema to this version of tenantsync."""
    settings = load_settings()
    db = open_db(settings, check=False)
    before = db.current_revision()
    db.upgrade()
    after = db.current_revision()
    out.print(f"database at schema {after}" + ("" if before == after else f" (was {before})"))


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision of the database."""
    out.print(open_db(load_settings(), check=False).current_revision() or "not initialized")


@config_app.command("show")
def config_show(as_json: bool = typer.Option(False, "--json", help="JSON for scripts")) -> None:
    """Print the effective settings, secrets masked."""
    data = load_settings().masked()
    if as_json:
        emit_json(data)
        return
    for key, value in data.items():
        out.print(f"{key} = {value}")


def apply(
    file: Path = typer.Argument(..., help="YAML file of organizations and their tasks"),
    check_only: bool = typer.Option(False, "--check", help="validate only, write nothing"),
    diff: bool = typer.Option(
        False, "--diff", help="print every field that would change, per object; write nothing"
    ),
    as_json: bool = typer.Option(False, "--json", help="JSON for scripts"),
) -> None:
    """Create or update organizations, connections, definitions, schedules and tasks from a
    file, printing every field it changes (a definition's options in the file are its
    whole options: one left out goes back to its default)."""
    settings = load_settings()
    loaded = load_document(file)
    registry = default_registry()
    db = open_db(settings)
    box = open_box(settings, create=True)
    dry = check_only or diff
    with db.session() as session:
        report = apply_document(session, loaded, registry, box)
        if dry:
            session.rollback()
        else:
            # What the file changed, field by field (secrets by their source only).
            detail = report.to_json() | {"notes": len(report.notes)}
            record_cli(session, "config.apply", str(file.resolve()), detail)
    if as_json:
        emit_json(report.to_json())
        return
    for note in report.notes:
        out.print(f"note: {note}", markup=False)
    if not check_only:
        for changed in report.changed():
            for line in changed.lines(would=diff):
                out.print(line, markup=False)
    elif report.changed():
        for changed in report.changed():
            out.print(f"{changed.label} would be {changed.action}", markup=False)
    tail = {False: "", True: " (nothing written)"}[dry]
    out.print(
        f"{len(report.created)} created, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged" + (" (check only)" if check_only else tail)
    )


def export(organization: str = typer.Argument(..., help="organization name")) -> None:
    """Print an organization as a configuration file (secrets as references; one entered in
    the console as {stored: true}, which apply keeps as stored)."""
    settings = load_settings()
    db = open_db(settings)
    box = open_box(settings)
    with db.session() as session:
        typer.echo(export_organization(session, organization, box=box), nl=False)
