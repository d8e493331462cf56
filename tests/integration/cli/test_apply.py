"""`tenantsync apply` refuses a bad file with one line that names the file, the line and
the problem, and writes nothing; on SQLite and on PostgreSQL (which enforces lengths)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tenantsync.cli import main
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.directory import create_organization
from tenantsync.store.models import (
    Base,
    Definition,
    Domain,
    GroupKind,
    Mailbox,
    MailboxKind,
    Organization,
    Schedule,
    ScheduledTask,
    SourceGroup,
)
from tenantsync.worker import scheduler


@dataclass(frozen=True)
class Applied:
    """What one `tenantsync apply` printed and how it exited."""

    code: int
    out: str
    err: str
    file: Path

    def refused_at(self, line: int) -> str:
        """The one-line error, checked to name the file and ``line``."""
        assert self.code != 0, self.out
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, self.err
        assert lines[0].startswith(f"error: {self.file}:{line}: "), lines[0]
        assert "Traceback" not in self.err
        return lines[0]


Apply = Callable[..., Applied]


@pytest.fixture
def apply(
    db: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> Apply:
    """Write a file and run `tenantsync apply FILE` on it, as an operator would."""
    monkeypatch.setenv("TENANTSYNC_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("TENANTSYNC_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CONTOSO_CLIENT_SECRET", "s3cret")

    def run(text: str | bytes, *args: str) -> Applied:
        path = tmp_path / "tenants.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        capsys.readouterr()
        with pytest.raises(SystemExit) as done:
            main(["apply", str(path), *args])
        captured = capsys.readouterr()
        return Applied(int(done.value.code or 0), captured.out, captured.err, path)

    return run


def count(db: Database, model: type[Base]) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


SCHEDULE = """\
organizations:
  - name: contoso
    schedules:
      - name: fast
        cron: "{cron}"
"""


def test_a_cron_of_six_fields_is_refused_it_would_run_every_second(
    apply: Apply, db: Database
) -> None:
    refused = apply(SCHEDULE.format(cron="* * * * * *"))
    line = refused.refused_at(5)
    assert "organizations[contoso].schedules[fast].cron" in line and "5 fields" in line
    assert count(db, Organization) == 0 and count(db, Schedule) == 0
    assert apply(SCHEDULE.format(cron="*/5 * * * *")).code == 0
    assert count(db, Schedule) == 1


LONG_DOMAIN = ".".join(["a" * 60] * 5) + ".com"  # 308 characters; the store holds 255
LONG_CRON = ",".join(str(m) for m in range(60)) + " * * * *"  # a valid cron of 177; 120 fit
LONG_DN = "CN=" + "x" * 1100 + ",DC=contoso,DC=com"  # 1024 fit
LONG_VARIABLE = "CONTOSO_" + "X" * 300


@pytest.mark.parametrize(
    ("text", "line", "path"),
    [
        (
            "organizations:\n  - name: contoso\n    display_name: " + "C" * 300 + "\n",
            3,
            "organizations[contoso].display_name",
        ),
        (
            "organizations:\n  - name: contoso\n    domains:\n      - contoso.com\n"
            f"      - {LONG_DOMAIN}\n",
            5,
            "organizations[contoso].domains[1]",
        ),
        (
            "organizations:\n  - name: contoso\n    schedules:\n      - name: busy\n"
            f'        cron: "{LONG_CRON}"\n',
            5,
            "organizations[contoso].schedules[busy].cron",
        ),
        (
            "organizations:\n  - name: contoso\n    definitions:\n      - name: hk\n"
            "        type: housekeeping\n    tasks:\n      - name: t\n        definition: hk\n"
            f'        scope: {{dn: "{LONG_DN}"}}\n',
            9,
            "organizations[contoso].tasks[t].scope.dn",
        ),
        (
            "organizations:\n  - name: contoso\n    connections:\n      - name: m365\n"
            "        tenant_id: t\n        client_id: c\n"
            f"        client_secret: {{env: {LONG_VARIABLE}}}\n",
            7,
            "organizations[contoso].connections[m365].client_secret.env",
        ),
    ],
    ids=["display name", "domain", "cron", "scope dn", "secret reference"],
)
def test_a_value_longer_than_the_store_holds_is_refused_at_its_line_and_field(
    apply: Apply,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    line: int,
    path: str,
) -> None:
    monkeypatch.setenv(LONG_VARIABLE, "s3cret")
    refused = apply(text)
    assert refused.code == 2
    message = refused.refused_at(line)
    assert f": {path}: " in message and "at most" in message
    assert count(db, Organization) == 0


def test_a_key_given_twice_is_refused_naming_the_key_and_both_lines(
    apply: Apply, db: Database
) -> None:
    refused = apply(
        "organizations:\n  - name: contoso\n    display_name: Contoso\n"
        "    domains: [contoso.com]\n    display_name: Contoso Ltd\n"
    )
    message = refused.refused_at(5)
    assert "organizations[contoso].display_name" in message
    assert "'display_name' is given twice (first on line 3)" in message
    assert count(db, Organization) == 0


def test_a_file_nested_thousands_of_levels_deep_is_refused_without_a_traceback(
    apply: Apply, db: Database
) -> None:
    deep = apply("organizations: " + "[" * 3000 + "]" * 3000 + "\n")
    assert "nested more than" in deep.refused_at(1)
    block = "organizations:\n" + "".join("  " * i + f"- k{i}:\n" for i in range(1, 1500))
    assert "nested more than" in apply(block).err
    assert count(db, Organization) == 0


def test_a_file_that_is_not_utf8_text_is_refused_in_one_line(apply: Apply) -> None:
    refused = apply(b"organizations:\n  - name: caf\xe9\n")
    assert refused.code == 2
    assert "not UTF-8" in refused.err and "Traceback" not in refused.err
    assert len(refused.err.strip().splitlines()) == 1


def test_an_organization_named_twice_is_refused_at_the_second(apply: Apply, db: Database) -> None:
    refused = apply(
        "organizations:\n  - name: contoso\n    domains: [contoso.com]\n"
        "  - name: contoso\n    domains: [contoso.de]\n"
    )
    message = refused.refused_at(4)
    assert "organizations[contoso].name: 'contoso' appears twice (first on line 2)" in message
    assert count(db, Organization) == 0


def test_a_domain_given_twice_is_refused_with_its_line_not_a_traceback(
    apply: Apply, db: Database
) -> None:
    refused = apply(
        "organizations:\n  - name: contoso\n    domains:\n      - contoso.com\n"
        "      - Contoso.COM\n"
    )
    message = refused.refused_at(5)
    assert "domains[1]: 'contoso.com' appears twice (first on line 4)" in message
    assert count(db, Organization) == 0 and count(db, Domain) == 0


def sync_groups_into_contoso(db: Database) -> None:
    """Rows as a user sync leaves them: a group with an address and a DN, a distribution
    group's address, and a mailbox under OU=Staff."""
    with db.session() as session:
        org = create_organization(session, "contoso")
        session.add_all(
            [
                SourceGroup(
                    organization_id=org.id,
                    source_id="g-sales",
                    name="Sales",
                    mail="sales@contoso.com",
                    dn="CN=Sales,OU=Groups,DC=contoso,DC=com",
                    kind=GroupKind.SECURITY,
                ),
                Mailbox(
                    organization_id=org.id,
                    primary_address="team@contoso.com",
                    kind=MailboxKind.GROUP,
                ),
                Mailbox(
                    organization_id=org.id,
                    primary_address="ann@contoso.com",
                    kind=MailboxKind.USER,
                    source_dn="CN=Ann,OU=Staff,DC=contoso,DC=com",
                ),
            ]
        )


TASK = """\
organizations:
  - name: contoso
    definitions:
      - name: hk
        type: housekeeping
    tasks:
      - name: t
        definition: hk
        scope: {scope}
"""
MEMBER_OF = """\
organizations:
  - name: contoso
    definitions:
      - name: users
        type: user_sync
        options:
          rules:
            - name: finance
              field: memberOf
              operator: member-of
              value: {group}
              policy_group: {destination}
"""


@pytest.mark.parametrize(
    ("scope", "problem"),
    [
        ("{group: Marketing}", "no synced group named 'Marketing'"),
        ("{address: nobody@contoso.com}", "no synced group has the address"),
        ("{address: ann@contoso.com}", "a mailbox's address, not a group's"),
        ("{dn: 'CN=Nobody,OU=Gone,DC=contoso,DC=com'}", "no synced group, mailbox or container"),
    ],
    ids=["group", "address", "mailbox address", "dn"],
)
def test_a_scope_naming_what_the_organization_has_not_synced_is_refused(
    apply: Apply, db: Database, scope: str, problem: str
) -> None:
    sync_groups_into_contoso(db)
    message = apply(TASK.format(scope=scope)).refused_at(9)
    assert "organizations[contoso].tasks[t].scope." in message and problem in message
    assert count(db, ScheduledTask) == 0 and count(db, Definition) == 0


@pytest.mark.parametrize(
    "scope",
    [
        "{group: sales}",
        "{group: g-sales}",
        "{address: Sales@contoso.com}",
        "{address: team@contoso.com}",
        "{dn: 'CN=Sales,OU=Groups,DC=contoso,DC=com'}",
        "{dn: 'OU=Staff,DC=contoso,DC=com'}",
    ],
)
def test_a_scope_naming_a_synced_group_address_or_container_is_accepted(
    apply: Apply, db: Database, scope: str
) -> None:
    sync_groups_into_contoso(db)
    applied = apply(TASK.format(scope=scope))
    assert applied.code == 0, applied.err
    assert "note:" not in applied.out
    assert count(db, ScheduledTask) == 1


def test_a_member_of_rule_naming_an_unknown_group_is_refused_naming_the_rule(
    apply: Apply, db: Database
) -> None:
    sync_groups_into_contoso(db)
    message = apply(MEMBER_OF.format(group="Marketing", destination="Finance")).refused_at(11)
    assert "definitions[users].options.rules[finance].value" in message
    assert "rule 1 (finance): no synced group named 'Marketing'" in message
    assert count(db, Definition) == 0
    assert apply(MEMBER_OF.format(group="SALES", destination="Finance")).code == 0


def test_before_anything_is_synced_a_scope_or_rule_is_accepted_with_a_note(
    apply: Apply, db: Database
) -> None:
    applied = apply(TASK.format(scope="{group: Marketing}"))
    assert applied.code == 0, applied.err
    note = next(line for line in applied.out.splitlines() if line.startswith("note: "))
    assert f"{applied.file}:9: organizations[contoso].tasks[t].scope.group" in note
    assert "'Marketing' cannot be checked yet" in note and "first run" in note
    rule = apply(MEMBER_OF.format(group="Marketing", destination="Finance"))
    assert rule.code == 0 and "rule 1 (finance): group 'Marketing' cannot be checked" in rule.out


def test_a_rule_destination_longer_than_a_policy_group_name_is_refused(
    apply: Apply, db: Database
) -> None:
    refused = apply(MEMBER_OF.format(group="Sales", destination="P" * 121))
    message = refused.refused_at(12)
    assert "rules[finance].policy_group" in message and "at most 120 characters" in message
    assert count(db, Organization) == 0


DOMAINS = """\
organizations:
  - name: contoso
    domains: [contoso.com{more}]
    definitions:
      - name: users
        type: user_sync
        options:
          domains: [contoso.com, fabrikam.com]
"""


def test_a_definition_naming_a_domain_the_organization_lacks_is_refused_at_its_line(
    apply: Apply, db: Database
) -> None:
    refused = apply(DOMAINS.format(more=""))
    message = refused.refused_at(8)
    assert "definitions[users].options.domains: fabrikam.com is not a domain" in message
    assert "(its domains: contoso.com)" in message
    assert count(db, Organization) == 0 and count(db, Definition) == 0
    assert apply(DOMAINS.format(more=", fabrikam.com")).code == 0
    assert count(db, Definition) == 1


OFFICE = """\
organizations:
  - name: contoso
    definitions:
      - name: tidy
        type: housekeeping
    schedules:
      - name: office
        interval: 15m
        timezone: Europe/Berlin
        window: {{start: "08:00", end: "18:00"}}
        weekdays: {days}
    tasks:
      - name: tidy
        definition: tidy
        schedule: office
"""


def test_a_schedule_on_weekdays_runs_only_on_them_in_its_time_zone(
    apply: Apply, db: Database
) -> None:
    refused = apply(OFFICE.format(days="[mon, someday]"))
    line = refused.refused_at(11)
    assert "schedules[office].weekdays" in line and "'someday' is not a weekday" in line
    assert apply(OFFICE.format(days="[mon, tue, wed, thu, fri]")).code == 0
    saturday = datetime(2026, 7, 4, 10, tzinfo=UTC)  # noon in Berlin
    monday = datetime(2026, 7, 6, 6, tzinfo=UTC)  # 08:00 in Berlin (summer time)
    with db.sessions() as s:
        task = s.scalars(select(ScheduledTask)).one()
        schedule = s.scalars(select(Schedule)).one()
        assert schedule.weekdays == "mon,tue,wed,thu,fri"
        scheduler.arm(task, schedule, now=saturday)
        s.commit()
        assert scheduler.tick(s, now=saturday) == []
        assert scheduler.tick(s, now=monday - timedelta(seconds=1)) == []
        assert len(scheduler.tick(s, now=monday)) == 1
        s.expire_all()
        assert s.get_one(ScheduledTask, task.id).next_due_at == monday + timedelta(minutes=15)
    changed = apply(OFFICE.format(days="[sat, sun]"), "--diff")
    assert changed.code == 0
    assert "weekdays" in changed.out and "sat,sun" in changed.out


ONPREM = """\
organizations:
  - name: corp
    connections:
      - name: ad
        kind: exchange_onprem
        server: {server}
        bind_user: 'CORP\\svc'
        password: {password}
        permission_path: ems
        ems_url: {ems_url}
        ems_auth: basic
        ems_user: svc@corp.example
        ems_password: {ems_password}
"""


def test_each_stored_password_stays_bound_to_its_own_endpoint(
    apply: Apply, db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tenantsync.store.models import Connection
    from tenantsync.store.secretbox import SecretBox

    def stored() -> dict[str, str]:
        box = SecretBox.from_key_file(settings.effective_key_file)
        with db.session() as session:
            conn = session.scalars(select(Connection)).one()
            assert conn.secret_ciphertext is not None
            return box.decrypt(conn.secret_ciphertext)

    monkeypatch.setenv("BIND", "bind-1")
    monkeypatch.setenv("SHELL", "shell-1")
    shell = "https://ex01.corp.example/PowerShell"
    given = {"password": "{env: BIND}", "ems_password": "{env: SHELL}"}
    assert apply(ONPREM.format(server="dc1.corp.example", ems_url=shell, **given)).code == 0
    # The DC moves, the bind password comes anew, the Shell's is kept as stored: it still
    # goes only to the Exchange server it was stored for.
    monkeypatch.setenv("BIND", "bind-2")
    keep_shell = {"password": "{env: BIND}", "ems_password": "{stored: true}"}
    moved_dc = apply(ONPREM.format(server="dc2.corp.example", ems_url=shell, **keep_shell))
    assert moved_dc.code == 0, moved_dc.err
    assert stored() == {"password": "bind-2", "ems_password": "shell-1"}
    # The Shell moves: its stored password may not follow it.
    elsewhere = "https://elsewhere.example/PowerShell"
    refused = apply(ONPREM.format(server="dc2.corp.example", ems_url=elsewhere, **keep_shell))
    error = refused.refused_at(13)
    assert "{stored: true} keeps the ems_password" in error
    assert "stored for other values of ems_url" in error
    assert stored() == {"password": "bind-2", "ems_password": "shell-1"}
