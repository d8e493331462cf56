"""The notification dispatcher: sends what the outbox holds, beside the runs, never in them.

A worker started with notifications runs one dispatcher thread: every poll it queues the
change feed's next batch for webhooks that follow it, claims the deliveries that are due
and sends each (webhook or email), recording the attempt. A receiver that is down, slow or
refusing delays only its own deliveries; a run never waits for one and never fails because
of one. ``tenantsync notify send`` runs the same step once.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import select

from tenantsync.connectors.notify import (
    DeliveryFailed,
    SmtpServer,
    post_webhook,
    send_email,
)
from tenantsync.settings import Settings
from tenantsync.store import notify
from tenantsync.store.database import Database
from tenantsync.store.models import SmtpSettings
from tenantsync.store.secretbox import SecretBox

log = logging.getLogger(__name__)


class Dispatcher:
    """Sends due notifications from the store's outbox."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self, *, limit: int = 20) -> int:
        """Queue change batches, then send up to ``limit`` due deliveries; how many were sent
        (delivered or not)."""
        with self.db.session() as session:
            notify.queue_changes(session)
        with self.db.session() as session:
            due = notify.claim_due(session, limit=limit)
            smtp = session.scalar(select(SmtpSettings).limit(1))
            server = self._server(smtp) if smtp is not None else None
        for item in due:
            error, code = self._send(item, server)
            if error is not None:
                log.warning("notification %s (%s) not delivered: %s", item.id, item.event, error)
            with self.db.session() as session:
                notify.record_attempt(session, item, error, code)
        return len(due)

    def _box(self) -> SecretBox:
        return SecretBox.from_key_file(self.settings.effective_key_file, create=False)

    def _server(self, smtp: SmtpSettings) -> SmtpServer:
        password = None
        if smtp.password_ciphertext is not None:
            password = self._box().decrypt(smtp.password_ciphertext).get("password")
        return SmtpServer(
            smtp.host, smtp.port, smtp.starttls, smtp.username, password, smtp.from_address
        )

    def _send(self, item: notify.Due, server: SmtpServer | None) -> tuple[str | None, int | None]:
        """Send one delivery: (why it failed or None, the HTTP status when one came)."""
        try:
            if item.channel == "webhook":
                assert item.url is not None and item.secret_ciphertext is not None
                secret = str(self._box().decrypt(item.secret_ciphertext)["secret"])
                code = post_webhook(item.url, secret, item.event, item.id, item.payload)
                return None, code
            if server is None:
                return "no SMTP server is set (console: Notifications, or `notify smtp`)", None
            assert item.email is not None
            send_email(server, item.email, f"[tenantsync] {item.summary}", _text(item.payload))
            return None, None
        except DeliveryFailed as exc:
            return str(exc), exc.code
        except Exception as exc:  # a bug must not stop the dispatcher; the delivery says it
            log.exception("notification %s: internal error", item.id)
            return f"internal error: {type(exc).__name__}", None

    def start(self) -> None:
        """Send in a thread of its own until :meth:`stop`."""
        self._thread = threading.Thread(target=self._loop, name="notifications", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.poll_seconds):
            try:
                self.step()
            except Exception:
                log.exception("notification dispatch failed; will try again")


def _text(payload: dict[str, Any]) -> str:
    """An email's body: the event's facts, one per line."""
    lines = [f"{key}: {value}" for key, value in payload.items() if value not in (None, "")]
    return "\n".join(lines) + "\n"
