"""Publishing a run's progress: its own small write about once a second, apart from the
lease, so a watcher sees the stage and count move while the run works."""

from __future__ import annotations

import logging
import threading
from typing import Any

from tenantsync.store.database import Database
from tenantsync.worker import queue

log = logging.getLogger(__name__)
# Often enough for a page that polls every second or two; one UPDATE of one row each time.
PUBLISH_SECONDS = 1.0


class ProgressPublisher:
    """Writes ``progress`` (the run context's dict) to the run when it changed, at most once
    per ``interval``; the last state once more when stopped."""

    def __init__(
        self,
        db: Database,
        claim: queue.Claim,
        progress: dict[str, Any],
        interval: float = PUBLISH_SECONDS,
    ) -> None:
        self._db = db
        self._claim = claim
        self._progress = progress
        self._interval = interval
        self._written: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"progress-{claim.run_id}", daemon=True
        )

    def start(self) -> None:
        self._publish()  # "running" says something from its first second
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._publish()

    def _publish(self) -> None:
        latest = dict(self._progress)
        if not latest or latest == self._written:
            return
        try:
            with self._db.sessions() as session:
                queue.publish_progress(session, self._claim, latest)
        except Exception:
            # A busy database (SQLite while the run applies) skips a beat; the next one writes.
            log.debug("run %s: progress not written this time", self._claim.run_id, exc_info=True)
            return
        self._written = latest
