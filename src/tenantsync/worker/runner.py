"""The worker: claims runs, keeps their lease alive while the handler works, records the end."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from tenantsync.engine.connection_check import DEFINITION_TYPE as CHECK_TYPE
from tenantsync.engine.pipeline import execute
from tenantsync.engine.registry import Registry
from tenantsync.engine.run import Outcome, RunContext, TaskInfo
from tenantsync.engine.sources import Sources
from tenantsync.errors import SourceError, TenantSyncError
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Definition, Run, RunStatus, ScheduledTask
from tenantsync.worker import queue, scheduler
from tenantsync.worker.notify import Dispatcher
from tenantsync.worker.progress import ProgressPublisher

log = logging.getLogger(__name__)
MAX_OUTAGE_PAUSE = 60.0
CONNECTION_CHECK = CHECK_TYPE.name


def worker_name() -> str:
    """A name unique to this process: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Executes queued runs one at a time; any number of workers can share a database."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        registry: Registry,
        *,
        sources: Sources | None = None,
        name: str | None = None,
        with_scheduler: bool = False,
        with_notifications: bool = False,
    ) -> None:
        self.db = db
        self.settings = settings
        self.registry = registry
        self.sources = sources or Sources()
        self.name = name or worker_name()
        self.with_scheduler = with_scheduler
        self.with_notifications = with_notifications
        self.stop_event = threading.Event()
        self._next_reap = 0.0

    def run_forever(self, *, max_runs: int | None = None, idle_exit: bool = False) -> int:
        """Work until stopped, ``max_runs`` are done or (``idle_exit``) idle; returns runs done.

        A database that cannot be reached (restarting, failing over) does not end the
        worker: it logs, waits (longer each time, up to a minute) and tries again. A run
        it held meanwhile is re-queued by the lease expiry like any other lost run.
        With notifications, a dispatcher thread sends the outbox meanwhile (worker/notify.py).
        """
        dispatcher = Dispatcher(self.db, self.settings) if self.with_notifications else None
        if dispatcher is not None:
            dispatcher.start()
        try:
            return self._work(max_runs=max_runs, idle_exit=idle_exit)
        finally:
            if dispatcher is not None:
                dispatcher.stop()

    def _work(self, *, max_runs: int | None, idle_exit: bool) -> int:
        done = 0
        outage = 0
        while not self.stop_event.is_set():
            try:
                if self.with_scheduler:
                    with self.db.sessions() as session:
                        scheduler.tick(session)
                worked = self.step()
            except DBAPIError as exc:
                if not exc.connection_invalidated and not isinstance(exc, OperationalError):
                    raise
                outage += 1
                pause = min(MAX_OUTAGE_PAUSE, self.settings.poll_seconds * 2**outage)
                log.warning("database unavailable (%s); retrying in %.0fs", exc.orig, pause)
                self.stop_event.wait(pause)
                continue
            outage = 0
            if worked:
                done += 1
                if max_runs is not None and done >= max_runs:
                    break
                continue
            if idle_exit:
                break
            self.stop_event.wait(self.settings.poll_seconds)
        return done

    def step(self, run_id: int | None = None) -> bool:
        """Reap expired leases, claim one run (or ``run_id``) and execute it; False when idle."""
        with self.db.sessions() as session:
            if time.monotonic() >= self._next_reap:
                # Reaping is cheap but not free: once per half lease is soon enough.
                self._next_reap = time.monotonic() + self.settings.lease_seconds / 2
                for rid in queue.reap_expired(session):
                    log.warning("run %s lost its worker; re-queued or failed", rid)
            claim = queue.claim(
                session,
                self.name,
                self.settings.lease_seconds,
                run_id=run_id,
                types=self.registry.names(),
            )
        if claim is None:
            return False
        self.execute(claim)
        return True

    def execute(self, claim: queue.Claim) -> None:
        """Run the pipeline for a claimed run while a keeper thread renews the lease."""
        with self.db.sessions() as session:
            ctx = self._context(session, claim.run_id)
        keeper = _LeaseKeeper(self.db, claim, self.settings.lease_seconds, ctx)
        publisher = ProgressPublisher(self.db, claim, ctx.progress)
        ctx.report("starting", 0)
        keeper.start()
        publisher.start()
        try:
            outcome = self._call(ctx)
        finally:
            publisher.stop()
            keeper.stop()
        with self.db.sessions() as session:
            if isinstance(outcome, SourceError):
                delay = self.settings.retry_backoff_seconds * 2 ** (ctx.attempt - 1)
                finished = queue.retry_later(session, claim, delay, str(outcome))
            else:
                finished = queue.complete(session, claim, outcome)
        if not finished:
            log.warning(
                "run %s: lease lost before it finished; its result was discarded", claim.run_id
            )

    def _call(self, ctx: RunContext) -> Outcome | SourceError:
        """The run's outcome, or the transient failure to try again after."""
        definition = self.registry.get(ctx.task.definition_type)
        try:
            outcome = execute(ctx, definition, self.sources)
        except SourceError as exc:
            if exc.retryable and ctx.attempt < self.settings.run_attempts:
                return exc
            status = RunStatus(exc.run_status or "failed")
            return Outcome(status=status, error=str(exc), source_problem=True)
        except TenantSyncError as exc:
            # What each error ends a run with is errors.ERROR_TABLE's (cancelled, failed…).
            return Outcome(status=RunStatus(exc.run_status or "failed"), error=str(exc))
        except Exception as exc:
            log.error("run %s failed:\n%s", ctx.run_id, traceback.format_exc())
            return Outcome(status=RunStatus.FAILED, error=f"internal error: {exc!r}")
        if definition.name == CONNECTION_CHECK:
            outcome.source_problem = True
        return outcome

    def _context(self, session: Session, run_id: int) -> RunContext:
        run = session.get(Run, run_id)
        assert run is not None
        task, definition = session.execute(
            select(ScheduledTask, Definition)
            .join(Definition, Definition.id == ScheduledTask.definition_id)
            .where(ScheduledTask.id == run.task_id)
        ).one()
        options = self.registry.validate_options(definition.type, definition.options)
        return RunContext(
            db=self.db,
            settings=self.settings,
            run_id=run.id,
            trigger=run.trigger,
            task=TaskInfo(
                id=task.id,
                name=task.name,
                organization_id=task.organization_id,
                definition_type=definition.type,
                connection_id=task.connection_id,
                scope_kind=task.scope_kind,
                scope_value=task.scope_value,
            ),
            options=options,
            confirm_removals=run.confirm_removals,
            review=_review(session, run),
            full_read="asked for with this run" if queue.full_read_asked(run) else None,
            attempt=run.attempts,
        )


def _review(session: Session, run: Run) -> frozenset[str] | None:
    """The removals an administrator reviewed, when ``run`` confirms a threshold stop."""
    if run.confirms_run_id is None:
        return None
    stopped = session.get(Run, run.confirms_run_id)
    return frozenset(stopped.review or ()) if stopped is not None else frozenset()


class _LeaseKeeper:
    """Renews a run's lease every third of its length; sets the cancel flag when asked or lost.
    Progress is not its job (:class:`ProgressPublisher` writes that every second)."""

    def __init__(
        self, db: Database, claim: queue.Claim, lease_seconds: float, ctx: RunContext
    ) -> None:
        self._db = db
        self._claim = claim
        self._lease = lease_seconds
        self._ctx = ctx
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"lease-{claim.run_id}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        renew: Callable[[Session], tuple[bool, bool]] = lambda s: queue.renew(  # noqa: E731
            s, self._claim, self._lease
        )
        while not self._stop.wait(self._lease / 3):
            try:
                with self._db.sessions() as session:
                    held, cancel = renew(session)
            except Exception:
                log.exception("run %s: lease renewal failed; will retry", self._claim.run_id)
                continue
            if cancel or not held:
                self._ctx.cancel_event.set()
