"""An organization set up in the console, connection and all, exports to a file that
`apply` takes back unchanged (the secret entered in the console is kept as stored), and
whose export is the same file; on another database the file names the secret to give."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from tenantsync.cli import main
from tenantsync.engine.registry import Registry, default_registry
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Connection, Organization
from tenantsync.store.secretbox import SecretBox

SECRET = "console-entered-secret-7f3a"


@pytest.fixture
def registry() -> Registry:
    """The types an installation ships (the ones `apply` knows)."""
    return default_registry()


class Commands:
    """`tenantsync` commands run in this process against the test's database."""

    def __init__(self, capsys: Any) -> None:
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        with pytest.raises(SystemExit) as done:
            main(list(args))
        captured = self.capsys.readouterr()
        return int(done.value.code or 0), captured.out, captured.err


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> Commands:
    monkeypatch.setenv("TENANTSYNC_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("TENANTSYNC_DATA_DIR", str(settings.data_dir))
    return Commands(capsys)


def set_up_in_the_console(root: Any) -> int:
    """Organization, domains, a connection with its secret, a user sync definition with
    rules, a schedule with a window and weekdays, and a task, as an administrator enters them."""
    assert root.submit("/organizations", {"name": "fabrikam"}).status_code == 303
    assert root.submit("/organizations", {"name": "fabrikam"}).status_code == 422
    org = root.page("/organizations").text.split('href="/organizations/')[1].split('"')[0]
    for domain in ("fabrikam.com", "fabrikam.de"):
        assert root.submit(f"/organizations/{org}/domains", {"name": domain}).status_code == 303
    connection = {
        "name": "m365",
        "tenant_id": "22222222-3333-4444-5555-666666666666",
        "client_id": "77777777-8888-9999-aaaa-bbbbbbbbbbbb",
        "client_secret": SECRET,
    }
    assert root.submit(f"/organizations/{org}/connections/new", connection).status_code == 303
    rules = '[{"field": "department", "operator": "equals", "value": "Vertrieb Süd", '
    rules += '"policy_group": "Süd"}]'
    definition = {
        "type": "user_sync",
        "name": "users",
        "opt.domains": '["fabrikam.com"]',
        "opt.rules": rules,
        "opt.max_removals": "50",
        "opt.sync_groups": "on",
    }
    assert root.submit(f"/organizations/{org}/definitions/new", definition).status_code == 303
    schedule = {"name": "nightly", "cron": "30 2 * * *", "timezone": "Europe/Berlin"}
    schedule |= {"window_start": "01:00", "window_end": "05:00", "day.mon": "on", "day.sat": "on"}
    assert root.submit(f"/organizations/{org}/schedules/new", schedule).status_code == 303
    page = root.page(f"/organizations/{org}/tasks/new").text

    def option(label: str) -> str:
        return page.split(f">{label}")[0].rsplit('value="', 1)[1].split('"')[0]

    task = {
        "name": "users",
        "definition_id": option("users (user_sync)"),
        "schedule_id": option("nightly"),
        "connection_id": option("m365"),
        "scope_kind": "address",
        "scope_address": "sales@fabrikam.com",
        "enabled": "on",
    }
    assert root.submit(f"/organizations/{org}/tasks/new", task).status_code == 303
    return int(org)


def test_export_then_apply_changes_nothing_and_exports_the_same_file(
    root: Any, cli: Commands, db: Database, settings: Settings, tmp_path: Path
) -> None:
    set_up_in_the_console(root)
    code, exported, err = cli("export", "fabrikam")
    assert code == 0, err
    entry = yaml.safe_load(exported)["organizations"][0]
    assert entry["connections"][0]["client_secret"] == {"stored": True}
    assert entry["schedules"][0]["weekdays"] == ["mon", "sat"]
    assert SECRET not in exported
    file = tmp_path / "fabrikam.yaml"
    file.write_text(exported, encoding="utf-8")

    code, out, err = cli("apply", str(file), "--diff")
    assert code == 0, err
    said = [line for line in out.splitlines() if not line.startswith("note: ")]
    assert said == ["0 created, 0 updated, 5 unchanged (nothing written)"]
    code, out, err = cli("apply", str(file))
    assert code == 0, err
    said = [line for line in out.splitlines() if not line.startswith("note: ")]
    assert said == ["0 created, 0 updated, 5 unchanged"]
    assert cli("export", "fabrikam")[1] == exported
    box = SecretBox.from_key_file(settings.effective_key_file)
    with db.session() as session:
        stored = session.scalars(select(Connection)).one()
        assert stored.secret_ciphertext is not None
        assert box.decrypt(stored.secret_ciphertext) == {"client_secret": SECRET}


def test_on_another_database_the_stored_secret_is_named_to_be_given(
    root: Any, cli: Commands, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_up_in_the_console(root)
    exported = cli("export", "fabrikam")[1]
    file = tmp_path / "fabrikam.yaml"
    file.write_text(exported, encoding="utf-8")
    other = tmp_path / "other"
    monkeypatch.setenv("TENANTSYNC_DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    monkeypatch.setenv("TENANTSYNC_DATA_DIR", str(other))
    Database(f"sqlite:///{tmp_path / 'other.db'}").upgrade()
    code, _out, err = cli("apply", str(file))
    assert code == 2
    assert "connections[m365].client_secret: {stored: true} keeps the client_secret" in err
    assert "this database has no connection 'm365' yet" in err
    assert "give it as {env: VARIABLE} or {file: PATH}" in err
    engine_db = Database(f"sqlite:///{tmp_path / 'other.db'}")
    with engine_db.session() as session:
        assert session.scalars(select(Organization)).all() == []
    engine_db.dispose()
    monkeypatch.setenv("FABRIKAM_SECRET", "given-again")
    code, _out, err = cli(
        "apply",
        str(_with(file, "client_secret:\n      stored: true", "client_secret:\n      env: X")),
    )
    assert code == 2 and "environment variable X is not set" in err


def _with(file: Path, old: str, new: str) -> Path:
    text = file.read_text(encoding="utf-8")
    assert old in text, text
    changed = file.with_name("changed.yaml")
    changed.write_text(text.replace(old, new), encoding="utf-8")
    return changed


def test_a_secret_entered_again_in_the_console_is_exported_as_stored(
    root: Any, cli: Commands, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FABRIKAM_SECRET", "from-the-environment")
    file = tmp_path / "fabrikam.yaml"
    file.write_text(
        "organizations:\n  - name: fabrikam\n    connections:\n      - name: m365\n"
        "        tenant_id: t\n        client_id: c\n"
        "        client_secret: {env: FABRIKAM_SECRET}\n",
        encoding="utf-8",
    )
    assert cli("apply", str(file))[0] == 0
    exported = yaml.safe_load(cli("export", "fabrikam")[1])
    assert exported["organizations"][0]["connections"][0]["client_secret"] == {
        "env": "FABRIKAM_SECRET"
    }
    org = root.page("/organizations").text.split('href="/organizations/')[1].split('"')[0]
    page = root.page(f"/organizations/{org}").text
    conn_url = "/connections/" + page.split('href="/connections/')[1].split('"')[0]
    form = {"name": "m365", "tenant_id": "t", "client_id": "c", "client_secret": SECRET}
    assert root.submit(conn_url, form).status_code == 303
    exported = yaml.safe_load(cli("export", "fabrikam")[1])
    assert exported["organizations"][0]["connections"][0]["client_secret"] == {"stored": True}
