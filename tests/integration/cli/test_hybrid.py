"""Hybrid deployments on the command line: files given on the CLI (a bad one refused with
its line and column, nothing kept), the report and the batches planned, inspected and
exported."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.support.cli import Cli, one_line_error

FIXTURES = Path(__file__).parents[2] / "fixtures" / "exported"
EXAMPLE = Path(__file__).parents[3] / "examples" / "hybrid.yaml"


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    cli = Cli(tmp_path, f"sqlite:///{tmp_path / 'tenantsync.db'}")
    cli("init", "--admin", "root@example.com")
    cli("apply", str(EXAMPLE))
    return cli


def test_a_bad_file_on_the_command_line_keeps_no_file(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text('"Identity","User","AccessRights"\n"info","CONTOSO\\amy"\n')
    good = FIXTURES / "onprem" / "mailboxes.csv"
    proc = cli("hybrid", "files", "add", "onprem-files", str(good), str(bad), check=2)
    assert one_line_error(proc) == (
        "error: file: refused bad.csv, line 2, column 8: 3 fields as the header has, "
        "found 2; no file was kept"
    )
    assert json.loads(cli("hybrid", "files", "list", "onprem-files", "--json").stdout) == []


def test_plan_inspect_and_export_the_report_and_the_batches(cli: Cli, tmp_path: Path) -> None:
    cli("hybrid", "files", "add", "onprem-files", *map(str, (FIXTURES / "onprem").iterdir()))
    cloud = [str(p) for p in (FIXTURES / "cloud").iterdir()]
    cli("hybrid", "files", "add", "onprem-files", "--side", "cloud", *cloud)
    listed = json.loads(cli("hybrid", "files", "list", "onprem-files", "--json").stdout)
    assert {f["side"] for f in listed} == {"auto", "cloud"}

    plan = cli("hybrid", "plan", "hybrid-report")
    assert "ACLable object synchronization" in plan.stdout
    shown = json.loads(
        cli("hybrid", "inspect", "hybrid-report", "--category", "manual", "--json").stdout
    )
    assert {(g["mailbox"], g["trustee"]) for g in shown["grants"]} == {
        ("info@contoso.com", "lee@contoso.com"),
        ("lee@contoso.com", "adele@contoso.com"),
    }
    commands = cli("hybrid", "export", "hybrid-report", "--what", "commands").stdout
    rows = list(csv.DictReader(io.StringIO(commands)))
    assert rows[0]["cloud"].startswith("Add-RecipientPermission -Identity 'info@contoso.com'")

    cli("hybrid", "plan", "migration-batches")
    batches = json.loads(cli("hybrid", "inspect", "migration-batches", "--json").stdout)
    first = batches["batches"][0]["name"]
    out = tmp_path / "batch.csv"
    cli(
        "hybrid",
        "export",
        "migration-batches",
        "--what",
        "migration",
        "--batch",
        first,
        "-o",
        str(out),
    )
    lines = out.read_text().splitlines()
    assert lines[0] == "EmailAddress"
    assert set(lines[1:]) <= {
        "adele@contoso.com",
        "info@contoso.com",
        "grady@contoso.com",
        "board@contoso.com",
    }
    grants = json.loads(
        cli("hybrid", "export", "hybrid-report", "--format", "json", "--right", "folder").stdout
    )
    assert {g["right"] for g in grants} == {"folder"}
