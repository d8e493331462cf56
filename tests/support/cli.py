"""The CLI as a child process, the way a script or an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, func, select

from tenantsync.store.models import Base


class Cli:
    """Runs ``tenantsync`` in a child process with its data directory under tmp_path."""

    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.env = {
            **os.environ,
            "TENANTSYNC_DATA_DIR": str(tmp_path / "data"),
            "TENANTSYNC_DATABASE_URL": database_url,
            "TENANTSYNC_ADMIN_PASSWORD": "correct horse battery staple",
            "TENANTSYNC_POLL_SECONDS": "0.05",
            "FABRIKAM_SECRET": "s3cret-value-never-printed",
            "CONTOSO_CLIENT_SECRET": "another-s3cret",
        }
        self.data_dir = tmp_path / "data"
        self.url = database_url

    def __call__(self, *args: str, check: int | None = 0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "tenantsync", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check is not None:
            assert proc.returncode == check, (proc.returncode, proc.stdout, proc.stderr)
        return proc

    def count(self, model: type[Base]) -> int:
        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                return int(conn.scalar(select(func.count()).select_from(model)) or 0)
        finally:
            engine.dispose()


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    return lines[0]
