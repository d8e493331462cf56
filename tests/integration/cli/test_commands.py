"""The CLI as a script or an operator runs it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from tenantsync.store.models import Connection, Organization
from tests.support.cli import Cli, one_line_error

EXAMPLE = Path(__file__).parents[3] / "examples" / "housekeeping.yaml"

CONNECTION_YAML = """\
organizations:
  - name: fabrikam
    domains: [fabrikam.com]
    connections:
      - name: m365
        kind: m365
        tenant_id: 11111111-2222-3333-4444-555555555555
        client_id: 66666666-7777-8888-9999-000000000000
        client_secret: {env: FABRIKAM_SECRET}
"""


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """The CLI on SQLite: it behaves the same on both backends (the store tests cover both)."""
    return Cli(tmp_path, f"sqlite:///{tmp_path / 'tenantsync.db'}")


def test_init_apply_run_and_list_as_a_script_would(cli: Cli) -> None:
    cli("init", "--admin", "Admin@Contoso.com")
    assert (cli.data_dir / "secret.key").stat().st_mode & 0o777 == 0o600 or any(
        p.stat().st_mode & 0o777 == 0o600 for p in cli.data_dir.glob("*.key")
    )
    first = cli("apply", str(EXAMPLE), "--json")
    second = cli("apply", str(EXAMPLE), "--json")
    assert json.loads(first.stdout) != json.loads(second.stdout)  # the second one is a no-op
    assert cli.count(Organization) == 1

    cli("task", "run", "contoso/housekeeping", "--wait")
    runs = json.loads(cli("runs", "list", "--json").stdout)
    assert [(r["task"], r["status"], r["trigger"]) for r in runs] == [
        ("housekeeping", "succeeded", "manual")
    ]
    shown = json.loads(cli("runs", "show", str(runs[0]["id"]), "--json").stdout)
    assert shown["status"] == "succeeded"
    tasks = json.loads(cli("task", "list", "--json").stdout)
    assert tasks[0]["name"] == "housekeeping"

    exported = cli("export", "contoso").stdout
    assert "every-minute" in exported
    assert "housekeeping" in exported


def test_version_and_config_show_masks_secrets(cli: Cli) -> None:
    assert cli("--version").stdout.strip().startswith("tenantsync ")
    shown = json.loads(cli("config", "show", "--json").stdout)
    assert "correct horse" not in json.dumps(shown)
    assert shown["data_dir"] == str(cli.data_dir)


def test_an_invalid_file_names_line_and_field_and_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    cli("init", "--admin", "admin@contoso.com")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        EXAMPLE.read_text().replace("interval: 1m", "interval: 1m\n        cron: '*/5 * * * *'")
        + "  - name: second\n    domains: [not a domain]\n"
    )
    proc = cli("apply", str(bad), check=None)
    assert proc.returncode != 0
    assert str(bad) in proc.stderr
    assert cli.count(Organization) == 0


def test_a_secret_given_inline_is_refused(cli: Cli, tmp_path: Path) -> None:
    cli("init", "--admin", "admin@contoso.com")
    inline = tmp_path / "inline.yaml"
    inline.write_text(CONNECTION_YAML.replace("{env: FABRIKAM_SECRET}", "plain-text-secret"))
    proc = cli("apply", str(inline), check=None)
    assert proc.returncode != 0
    assert "client_secret" in proc.stderr
    assert "plain-text-secret" not in proc.stdout + proc.stderr
    assert cli.count(Organization) == 0


def test_a_connection_secret_is_stored_encrypted_and_never_printed(
    cli: Cli, tmp_path: Path
) -> None:
    cli("init", "--admin", "admin@contoso.com")
    conf = tmp_path / "conn.yaml"
    conf.write_text(CONNECTION_YAML)
    proc = cli("apply", str(conf))
    assert "s3cret" not in proc.stdout + proc.stderr
    engine = create_engine(cli.url)
    with engine.connect() as conn:
        stored = conn.execute(select(Connection.secret_ciphertext)).scalar_one()
    engine.dispose()
    assert b"s3cret" not in bytes(stored)
    exported = cli("export", "fabrikam").stdout
    assert "s3cret" not in exported
    assert "FABRIKAM_SECRET" in exported


def test_a_garbage_key_file_is_a_clear_error(cli: Cli, tmp_path: Path) -> None:
    cli("init", "--admin", "admin@contoso.com")
    for key in cli.data_dir.glob("*.key"):
        key.write_text("this is not a fernet key\n")
    conf = tmp_path / "conn.yaml"
    conf.write_text(CONNECTION_YAML)
    proc = cli("apply", str(conf), check=None)
    assert proc.returncode != 0
    assert "key file" in one_line_error(proc)
    assert cli.count(Organization) == 0


def test_an_unreadable_key_file_is_a_clear_error(cli: Cli, tmp_path: Path) -> None:
    cli("init", "--admin", "admin@contoso.com")
    keys = list(cli.data_dir.glob("*.key"))
    assert keys
    for key in keys:
        key.unlink()
        key.mkdir()  # unreadable even for root, unlike a chmod 000 file
    conf = tmp_path / "conn.yaml"
    conf.write_text(CONNECTION_YAML)
    proc = cli("apply", str(conf), check=None)
    assert proc.returncode != 0
    assert "key file" in one_line_error(proc)


def test_commands_on_an_unmigrated_database_say_which_command_fixes_it(cli: Cli) -> None:
    proc = cli("runs", "list", check=None)
    assert proc.returncode != 0
    assert "tenantsync db upgrade" in one_line_error(proc)
    proc = cli("worker", "--max-runs", "1", check=None)
    assert proc.returncode != 0
    assert "tenantsync db upgrade" in one_line_error(proc)
    cli("db", "upgrade")
    assert json.loads(cli("runs", "list", "--json").stdout) == []


def test_a_wrong_database_url_is_one_line_and_non_zero(tmp_path: Path) -> None:
    cli = Cli(tmp_path, "postgresql://nobody:pw@127.0.0.1:1/nothing")
    proc = cli("runs", "list", check=None)
    assert proc.returncode != 0
    line = one_line_error(proc)
    assert "cannot open the database" in line
    assert "pw@" not in line  # the password is masked

    cli = Cli(tmp_path, "nosuchdriver://x/y")
    proc = cli("runs", "list", check=None)
    assert proc.returncode != 0
    assert "database" in one_line_error(proc)


def test_unknown_task_and_run_are_not_found(cli: Cli) -> None:
    cli("db", "upgrade")
    proc = cli("task", "run", "nope", check=None)
    assert proc.returncode != 0
    assert "nope" in one_line_error(proc)
    proc = cli("runs", "show", "12345", check=None)
    assert proc.returncode != 0
    assert "12345" in one_line_error(proc)
