"""A throwaway PostgreSQL server started from the installed binaries, on a free loopback port."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def find_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """A running server; ``url(dbname)`` gives a SQLAlchemy URL for a database on it."""

    root: Path
    port: int
    pg_ctl: str
    run_as: list[str]
    opts: str = ""

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://tenantsync@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url().replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" STRATEGY FILE_COPY')
        return self.url(name)

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.run_as, self.pg_ctl, "-D", str(self.root / "data"), *args],
            check=True,
            capture_output=True,
            env={**os.environ, "LC_ALL": "C", "HOME": str(self.root)},
        )

    def halt(self) -> None:
        """Stop the server but keep its data (an outage); `resume` starts it again."""
        self._ctl("-m", "fast", "-w", "stop")

    def resume(self) -> None:
        self._ctl("-o", self.opts, "-l", str(self.root / "log"), "-w", "-t", "60", "start")

    def stop(self) -> None:
        subprocess.run(
            [*self.run_as, self.pg_ctl, "-D", str(self.root / "data"), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> PostgresServer:
    """Start a server; raises RuntimeError naming what is missing when it cannot."""
    initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise RuntimeError(
            "no PostgreSQL binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql"
        )
    root = Path(tempfile.mkdtemp(prefix="tenantsync-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        # initdb refuses to run as root: run the server as an unprivileged user.
        os.chown(root, 65534, 65534)
        os.chmod(root, 0o700)
        run_as = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    data = root / "data"
    env = {**os.environ, "LC_ALL": "C", "HOME": str(root)}
    subprocess.run(
        [
            *run_as,
            initdb,
            "-D",
            str(data),
            "-U",
            "tenantsync",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "-N",
        ],
        check=True,
        capture_output=True,
        env=env,
    )
    port = free_port()
    opts = (
        f"-p {port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        [
            *run_as,
            pg_ctl,
            "-D",
            str(data),
            "-o",
            opts,
            "-l",
            str(root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        check=True,
        capture_output=True,
        env=env,
    )
    server = PostgresServer(root=root, port=port, pg_ctl=pg_ctl, run_as=run_as, opts=opts)
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("PostgreSQL did not start listening") from None
            time.sleep(0.2)
