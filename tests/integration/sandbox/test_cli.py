"""`tenantsync sandbox serve` and `tenantsync sandbox change` as an operator runs them."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tenantsync.cli import main
from tenantsync.config.schema import Document


def _wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text().strip().endswith("}"):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the sandbox did not write its credentials"
        time.sleep(0.05)


def _cli(capsys: pytest.CaptureFixture[str], *args: str, code: int, stream: str = "out") -> str:
    """`tenantsync sandbox change ARGS` in this process; returns its stdout or stderr."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(["sandbox", "change", *args])
    assert exited.value.code == code
    captured = capsys.readouterr()
    return captured.out if stream == "out" else captured.err


def test_serve_prints_credentials_and_a_connection_and_change_reaches_delta(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    creds_file = tmp_path / "creds.json"
    env = {**os.environ, "TENANTSYNC_DATA_DIR": str(tmp_path / "data")}
    serve = [sys.executable, "-m", "tenantsync", "sandbox", "serve", "--mailboxes", "40"]
    proc = subprocess.Popen(
        [*serve, "--seed", "4", "--latency", "0", "--credentials-file", str(creds_file)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(creds_file, proc)
        creds = json.loads(creds_file.read_text())
        assert creds["authority"] == f"{creds['authority_host']}/{creds['tenant_id']}"
        assert creds["authority_host"].startswith("https://127.0.0.1:")
        assert Path(creds["ca_file"]).is_file()
        tls = ssl.create_default_context(cafile=creds["ca_file"])
        with httpx.Client(verify=tls) as http:
            token = http.post(
                creds["token_url"],
                data={
                    "grant_type": "client_credentials",
                    "client_id": creds["client_id"],
                    "client_secret": creds["client_secret"],
                    "scope": "https://graph.microsoft.com/.default",
                },
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            first = http.get(f"{creds['graph_url']}/v1.0/users/delta", headers=auth).json()
            while "@odata.nextLink" in first:
                first = http.get(first["@odata.nextLink"], headers=auth).json()
            added = json.loads(
                _cli(
                    capsys,
                    "add-user",
                    "display_name=Ada Lovelace",
                    "department=R&D",
                    "--credentials-file",
                    str(creds_file),
                    "--json",
                    code=0,
                )
            )
            second = http.get(first["@odata.deltaLink"], headers=auth).json()
            assert [u["id"] for u in second["value"]] == [added["id"]]
            error = _cli(
                capsys,
                "remove-user",
                "user_id=nobody",
                "--credentials-file",
                str(creds_file),
                code=1,
                stream="err",
            )
            assert error.startswith("error: the sandbox refused remove_user")
    finally:
        proc.send_signal(signal.SIGTERM)
        stdout, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert creds["client_secret"] in stdout
    assert creds["tenant_id"] in stdout
    block = stdout.split("connection for `tenantsync apply`:", 1)[1].split("ready", 1)[0]
    document = Document.model_validate(yaml.safe_load(block))
    connection = document.organizations[0].connections[0]
    assert connection.ca_file == creds["ca_file"]
    assert connection.client_secret is not None and connection.client_secret.file
    secret_file = Path(connection.client_secret.file)
    assert secret_file.read_text().strip() == creds["client_secret"]
    assert secret_file.stat().st_mode & 0o077 == 0
