"""`tenantsync init --admin` then `tenantsync serve`: one process serves the console on the
given port and runs the scheduler and a worker, so a run queued from a page gets done;
`tenantsync console` serves the pages alone, taking a client's address from
X-Forwarded-For only behind a proxy named in TENANTSYNC_TRUSTED_PROXIES."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tenantsync.console.ratelimit import ADDRESS_LIMIT
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import AuditEntry
from tests.support.factory import make_org, make_task

PASSWORD = "a long enough password"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A served process on SQLite; the queue's PostgreSQL paths are tested elsewhere."""
    return f"sqlite:///{tmp_path / 'console.db'}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "TENANTSYNC_DATA_DIR": str(settings.data_dir),
        "TENANTSYNC_DATABASE_URL": settings.effective_database_url,
        "TENANTSYNC_ADMIN_PASSWORD": PASSWORD,
        "TENANTSYNC_POLL_SECONDS": "0.1",
    }


def tenantsync(*args: str) -> list[str]:
    return [sys.executable, "-c", "from tenantsync.cli import main; main()", *args]


@pytest.fixture
def initialized(env: dict[str, str], settings: Settings) -> Database:
    done = subprocess.run(
        tenantsync("init", "--admin", "Root@Example.com"), env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    db = Database(settings.effective_database_url)
    with db.session() as session:
        make_task(session, make_org(session), "tidy up")
    return db


@pytest.fixture
def serve(env: dict[str, str]) -> Iterator[object]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(command: str, **more_env: str) -> str:
        port = free_port()
        proc = subprocess.Popen(
            tenantsync(command, "--host", "127.0.0.1", "--port", str(port)),
            env={**env, **more_env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{url}/signin", timeout=1)
                return url
            except httpx.TransportError:
                assert proc.poll() is None, f"tenantsync {command} exited with {proc.returncode}"
                time.sleep(0.1)
        raise AssertionError(f"tenantsync {command} did not answer within 30 s")

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def signed_in(url: str) -> Iterator[httpx.Client]:
    """A client signed in as the super administrator that `init` created."""
    with httpx.Client(base_url=url, timeout=10) as client:
        token = CSRF.search(client.get("/signin").text)
        assert token is not None
        form = {"csrf": token.group(1), "email": "root@example.com", "password": PASSWORD}
        assert client.post("/signin", data=form).headers["location"] == "/"
        yield client


def test_serve_runs_the_console_with_a_scheduler_and_a_worker(
    initialized: Database, serve: object
) -> None:
    assert callable(serve)
    with signed_in(serve("serve")) as client:
        page = client.get("/tasks/1")
        csrf = CSRF.search(page.text)
        assert csrf is not None
        queued = client.post("/tasks/1/run", data={"csrf": csrf.group(1)})
        run_url = queued.headers["location"]
        deadline = time.monotonic() + 30
        while "succeeded" not in client.get(run_url).text:
            assert time.monotonic() < deadline, "the worker of `serve` never ran the task"
            time.sleep(0.2)


def test_console_serves_the_pages_alone(initialized: Database, serve: object) -> None:
    assert callable(serve)
    with signed_in(serve("console")) as client:
        assert "tidy up" in client.get("/").text
        csrf = CSRF.search(client.get("/tasks/1").text)
        assert csrf is not None
        queued = client.post("/tasks/1/run", data={"csrf": csrf.group(1)})
        time.sleep(0.5)
        assert "queued" in client.get(queued.headers["location"]).text  # no worker here


def sign_in(client: httpx.Client, email: str, password: str, forwarded: str) -> int:
    """Submit the sign-in form with an X-Forwarded-For header; the answer's status."""
    token = CSRF.search(client.get("/signin").text)
    assert token is not None
    form = {"csrf": token.group(1), "email": email, "password": password}
    return client.post("/signin", data=form, headers={"X-Forwarded-For": forwarded}).status_code


def audited_addresses(db: Database) -> set[str | None]:
    """The addresses of what the console audited (`init`, run by the fixture, has none)."""
    with db.session() as session:
        return set(session.scalars(select(AuditEntry.address).where(AuditEntry.actor != "cli")))


def test_x_forwarded_for_does_not_escape_the_sign_in_limit_of_an_address(
    initialized: Database, serve: object
) -> None:
    assert callable(serve)
    url = serve("console")
    with httpx.Client(base_url=url, timeout=10) as client:
        for i in range(ADDRESS_LIMIT):
            assert sign_in(client, f"guess{i}@example.com", "guess", f"198.51.100.{i}") == 401
        # A new forwarded address on every attempt changes nothing: the peer is limited.
        assert sign_in(client, "root@example.com", PASSWORD, "198.51.100.250") == 429
    assert audited_addresses(initialized) == {"127.0.0.1"}


def test_behind_a_trusted_proxy_the_forwarded_client_address_counts(
    initialized: Database, serve: object
) -> None:
    assert callable(serve)
    url = serve("console", TENANTSYNC_TRUSTED_PROXIES="127.0.0.1, 10.0.0.0/8")
    with httpx.Client(base_url=url, timeout=10) as client:
        for i in range(ADDRESS_LIMIT):
            assert sign_in(client, f"guess{i}@example.com", "guess", "203.0.113.5") == 401
        assert sign_in(client, "root@example.com", PASSWORD, "203.0.113.5") == 429
        # Another client behind the same proxy is not limited; the right-most address that
        # is not a trusted proxy is the client's, whatever the client wrote to the left.
        assert sign_in(client, "root@example.com", PASSWORD, "203.0.113.5, 203.0.113.6") == 303
        chain = "203.0.113.5, 203.0.113.7, 10.1.2.3"
        assert sign_in(client, "root@example.com", PASSWORD, chain) == 303
    assert audited_addresses(initialized) == {"203.0.113.5", "203.0.113.6", "203.0.113.7"}
