"""`tenantsync init --admin` then `tenantsync serve`: one process serves the console on the
given port and runs the scheduler and a worker, so a run queued from a page gets done;
`tenantsync console` serves the pages alone."""

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

from tenantsync.settings import Settings
from tenantsync.store.database import Database
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

    def start(command: str) -> str:
        port = free_port()
        proc = subprocess.Popen(
            tenantsync(command, "--host", "127.0.0.1", "--port", str(port)),
            env=env,
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
