"""Long-running processes: serve (scheduler + worker) and worker."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import typer

from tenantsync.cli.common import load_settings, open_box, open_db, out
from tenantsync.engine.registry import default_registry
from tenantsync.worker.runner import Worker


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("tenantsync").info("signal %s: finishing the current run", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # One line per HTTP request (URLs with delta tokens) only when asked for.
    for noisy in ("httpx", "httpcore", "msal"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="console address to listen on"),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="console port"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="debug logging"),
) -> None:
    """Run the console, the scheduler and a worker in one process until stopped."""
    from tenantsync.cli.console import serve_console

    _configure_logging(verbose)
    serve_console(host, port, with_worker=True)


def worker(
    scheduler: bool = typer.Option(False, "--scheduler", help="also turn due schedules into runs"),
    max_runs: int | None = typer.Option(None, "--max-runs", min=1, help="exit after N runs"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="debug logging"),
) -> None:
    """Run a worker that claims queued runs from the database until stopped."""
    _run_worker(with_scheduler=scheduler, max_runs=max_runs, verbose=verbose)


def _run_worker(*, with_scheduler: bool, max_runs: int | None, verbose: bool) -> None:
    _configure_logging(verbose)
    settings = load_settings()
    db = open_db(settings)
    open_box(settings, create=True)
    w = Worker(
        db, settings, default_registry(), with_scheduler=with_scheduler, with_notifications=True
    )
    _stop_on_signals(w.stop_event)
    role = "scheduler and worker" if with_scheduler else "worker"
    out.print(f"tenantsync {role} {w.name} on {settings.masked()['database_url']}")
    done = w.run_forever(max_runs=max_runs)
    out.print(f"stopped after {done} runs")
