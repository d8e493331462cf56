"""What the command line says of a run, as the console does: planned removals in `runs
show`, warnings after `--wait`, a threshold stop rejected with `runs reject`, and every
sandbox change operation in `sandbox change --help`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenantsync.cli import app
from tenantsync.sandbox import CHANGE_OPS, ServedSandbox
from tests.integration.user_sync.test_cli import mailbox_count, synced_then_eight_leave
from tests.integration.user_sync.test_cli import served as served


@pytest.mark.slow
def test_runs_show_lists_planned_removals_and_runs_reject_removes_nothing(
    served: ServedSandbox, tmp_path: Path
) -> None:
    cli, before = synced_then_eight_leave(served, tmp_path)

    preview = cli("task", "run", "users", "--preview", "--wait")
    assert "warning: a sync would stop here" in preview.stdout  # printed after its figures
    preview_id = json.loads(cli("runs", "list", "--json").stdout)[0]["id"]
    shown = cli("runs", "show", str(preview_id)).stdout
    assert "planned removals (8)" in shown and "mailbox.remove" in shown
    assert shown.count("│ mailbox ") >= 8

    cli("task", "run", "users", "--wait", check=7)
    stopped = json.loads(cli("runs", "list", "--json").stdout)[0]
    assert stopped["status"] == "awaiting_confirmation"
    first = cli("runs", "show", str(stopped["id"]), "--removals", "3").stdout
    assert "removals to confirm (first 3 of 8; --json lists all)" in first
    rejected = cli("runs", "reject", str(stopped["id"]))
    assert f"run {stopped['id']} rejected: nothing was removed" in rejected.stdout
    after = json.loads(cli("runs", "show", str(stopped["id"]), "--json").stdout)
    assert after["status"] == "cancelled" and "rejected by cli" in after["error"]
    assert cli("runs", "confirm", str(stopped["id"]), check=2).returncode == 2
    assert len(json.loads(cli("users", "list", "proseware", "--json").stdout)) == before
    assert mailbox_count(cli) == before


def test_sandbox_change_help_lists_every_operation_with_its_arguments() -> None:
    result = CliRunner().invoke(app, ["sandbox", "change", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for op in CHANGE_OPS:
        assert op.replace("_", "-") in result.output, op
    assert "add-user display_name=…" in result.output
