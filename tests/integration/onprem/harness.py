"""exchange_onprem tasks set up as an administrator does it: a configuration document with
the connection, a user sync and a permission sync, applied to a SQLite store, runs
executed by a worker. The connection reaches the Samba DC through the sandbox's LDAP fault
front (``faults``), which passes everything through until a test sets a rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ldap3 import Connection
from sqlalchemy import select
from sqlalchemy.orm import aliased

from tenantsync.config.apply import apply_document
from tenantsync.config.loader import parse_document
from tenantsync.engine.registry import default_registry
from tenantsync.sandbox import ServedSandbox
from tenantsync.sandbox.ems import shell_account
from tenantsync.sandbox.faults import parse_faults
from tenantsync.sandbox.ldap_faults import LdapFault, LdapFaultProxy
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.directory import find_task
from tenantsync.store.models import Definition, DelegateGrant, Mailbox, Run, RunStatus, Trigger
from tenantsync.store.secretbox import SecretBox
from tenantsync.worker import queue
from tenantsync.worker.runner import Worker
from tests.integration.onprem.conftest import OnPrem
from tests.integration.user_sync.harness import RunResult


class OnPremSync:
    """Tasks ``users`` and ``delegates`` of organization ``corp`` against the Samba DC;
    ``connection`` adds to (or replaces) the connection's parameters."""

    def __init__(
        self,
        onprem: OnPrem,
        tmp_path: Path,
        *,
        user: str | None = None,
        password: str | None = None,
        page_size: int = 1000,
        options: dict[str, Any] | None = None,
        delegate_options: dict[str, Any] | None = None,
        scope: dict[str, str] | str = "all",
        connection: dict[str, Any] | None = None,
    ) -> None:
        self.onprem = onprem
        self.faults = LdapFaultProxy(onprem.dc)
        self.settings = Settings(
            data_dir=tmp_path / "data",
            database_url=f"sqlite:///{tmp_path / 'tenantsync.db'}",
            retry_backoff_seconds=0,
        )
        self.db = Database.from_settings(self.settings)
        self.db.upgrade()
        secret = tmp_path / "ad-password.txt"
        secret.write_text(password or onprem.org.service_password, encoding="utf-8")
        self._connection = {
            **onprem.params(user),
            "name": "ad",
            "kind": "exchange_onprem",
            "port": self.faults.port,
            "page_size": page_size,
            "password": {"file": str(secret)},
            **(connection or {}),
        }
        self._options = options or {}
        self._delegate_options = delegate_options or {}
        self._file = str(tmp_path / "corp.yaml")
        try:
            self.apply(scope)
        except BaseException:
            self.close()
            raise
        self.worker = Worker(self.db, self.settings, default_registry())

    def apply(self, scope: dict[str, str] | str) -> None:
        """Apply the organization's document with both tasks scoped to ``scope``, as
        `tenantsync apply` does (ConfigError when it is refused)."""
        tasks = [
            {"name": name, "definition": name, "connection": "ad", "scope": scope}
            for name in ("users", "delegates")
        ]
        org = {
            "name": "corp",
            "domains": list(self.onprem.tenant.domains),
            "connections": [self._connection],
            "definitions": [
                {"name": "users", "type": "user_sync", "options": self._options},
                {
                    "name": "delegates",
                    "type": "mailbox_permission_sync",
                    "options": self._delegate_options,
                },
            ],
            "tasks": tasks,
        }
        loaded = parse_document(json.dumps({"organizations": [org]}), self._file)
        box = SecretBox.from_key_file(self.settings.effective_key_file, create=True)
        with self.db.session() as session:
            apply_document(session, loaded, default_registry(), box)

    def close(self) -> None:
        """Stop the fault front and let the store go."""
        self.faults.close()
        self.db.dispose()

    def set_faults(self, *rules: LdapFault) -> None:
        """Break the answers these rules name from now on (none: no more faults)."""
        self.faults.rules = list(rules)

    def set_options(self, **options: Any) -> None:
        """Change the user sync definition's options (as re-applying the YAML would)."""
        with self.db.session() as session:
            definition = session.scalars(select(Definition).where(Definition.name == "users")).one()
            definition.options = {**definition.options, **options}

    def run(
        self, task: str = "users", *, confirm_removals: bool = False, confirms: int | None = None
    ) -> RunResult:
        """Queue a run of ``task`` and execute it here, every attempt; its result."""
        with self.db.session() as session:
            run_id = queue.enqueue(
                session,
                find_task(session, task),
                Trigger.MANUAL,
                requested_by="test",
                confirm_removals=confirm_removals,
                confirms_run_id=confirms,
            ).id
        for _attempt in range(self.settings.run_attempts):
            self.worker.step(run_id)
            with self.db.session() as session:
                if session.get_one(Run, run_id).status is not RunStatus.QUEUED:
                    break
        with self.db.session() as session:
            run = session.get_one(Run, run_id)
            return RunResult(
                run.id,
                run.status.value,
                run.counts,
                run.messages,
                run.plan,
                run.error,
                run.stop_reason,
                run.review,
                run.attempts,
                run.attempt_log,
            )

    def mailboxes(self) -> set[str]:
        """Addresses of the live mailboxes in the store."""
        with self.db.session() as session:
            rows = session.scalars(
                select(Mailbox.primary_address).where(Mailbox.deleted_at.is_(None))
            )
            return {a.lower() for a in rows}

    def grants(self) -> set[tuple[str, str, str]]:
        """(mailbox, delegate, right) of every stored grant."""
        delegate = aliased(Mailbox)
        query = (
            select(Mailbox.primary_address, delegate.primary_address, DelegateGrant.right)
            .join(Mailbox, DelegateGrant.mailbox_id == Mailbox.id)
            .join(delegate, DelegateGrant.delegate_id == delegate.id)
        )
        with self.db.session() as session:
            return {(m.lower(), d.lower(), r.value) for m, d, r in session.execute(query)}


def shell_connection(
    onprem: OnPrem, served: ServedSandbox, folder: Path, *, password: str | None = None
) -> dict[str, object]:
    """The fields of an exchange_onprem connection reading permissions through ``served``'s
    Management Shell, its password in a file under ``folder``."""
    user, right = shell_account(onprem.tenant)
    folder.mkdir(parents=True, exist_ok=True)
    secret = folder / "ems-password.txt"
    secret.write_text(password or right, encoding="utf-8")
    return {
        "permission_path": "ems",
        "ems_url": f"{served.base_url}/PowerShell",
        "ems_auth": "basic",
        "ems_user": user,
        "ems_ca_file": str(served.ca_file),
        "ems_password": {"file": str(secret)},
    }


def break_shell(served: ServedSandbox, spec: str) -> None:
    """Make the sandbox fail as ``spec`` (a fault spec, "" for none) says, from now on."""
    served.app.state.sandbox.gate.rules = parse_faults(spec)


def add_mailbox(onprem: OnPrem, name: str, **extra: Any) -> tuple[str, str]:
    """A user mailbox added to the People OU over LDAP, as an administrator would; its DN
    and address."""
    org = onprem.org
    address = f"{name}@{onprem.tenant.domains[0]}"
    dn = f"CN={name},{org.people_ou}"
    attrs = {
        "sAMAccountName": name[:18],
        "mail": address,
        "proxyAddresses": [f"SMTP:{address}"],
        "mailNickname": name,
        "msExchRecipientTypeDetails": 1,
        "homeMDB": org.database_dn,
        "userAccountControl": 0x200 | 0x20,
        **extra,
    }
    admin = onprem.admin()
    try:
        if not admin.add(dn, ["user"], attrs):
            raise AssertionError(f"cannot add {dn}: {admin.result}")
    finally:
        admin.unbind()
    return dn, address


def delete(onprem: OnPrem, *dns: str) -> None:
    """Delete objects over LDAP."""
    admin: Connection = onprem.admin()
    try:
        for dn in dns:
            assert admin.delete(dn), admin.result
    finally:
        admin.unbind()
