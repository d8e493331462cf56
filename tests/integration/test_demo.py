"""`make demo` end to end: sandbox tenant, init, apply, syncs, then the console answering."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.postgres import free_port


def test_the_demo_syncs_a_sandbox_tenant_and_serves_the_console(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tenantsync.demo",
            "--check",
            "--mailboxes",
            "60",
            "--port",
            str(port),
            "--dir",
            str(tmp_path / "demo"),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["console"] == f"http://127.0.0.1:{port}/"
    assert "Sign in as admin@demo.invalid" in proc.stdout
    assert "$ tenantsync task run user-sync --wait" in proc.stdout
    assert "$ tenantsync hybrid plan migration-batches" in proc.stdout
    assert "grants by category" in proc.stdout and "service accounts" in proc.stdout
    assert "$ tenantsync task run calendar-replication --wait" in proc.stdout
    assert "healthy" in proc.stdout.split("$ tenantsync calendar state", 1)[1]
    # The client secret of the sandbox tenant goes to a 0600 file, never to the screen.
    creds = json.loads((tmp_path / "demo" / "sandbox" / "credentials.json").read_text())
    assert creds["client_secret"] not in proc.stdout + proc.stderr
