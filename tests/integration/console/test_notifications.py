"""Notifications: an account subscribes to an organization's threshold stops, failures and
connection problems, and a webhook to its change feed; the dispatcher sends them to real
local servers (an HTTP server, an aiosmtpd SMTP server) started here, signed, retried
after a failure, logged, and never in a run's way."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlalchemy import select, update

from tenantsync.sandbox.tls import ensure_certificates
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import (
    NotificationDelivery,
    Organization,
    Role,
    SmtpSettings,
)
from tenantsync.timeutil import utcnow
from tenantsync.worker.notify import Dispatcher
from tenantsync.worker.runner import Worker
from tests.support.cli import Cli
from tests.support.console import EMAILS, Seeded, console_registry, seed_directory
from tests.support.factory import make_task

SECRET = "a webhook secret of some length"
SMTP_PASSWORD = "smtp password 8472"


@pytest.fixture
def seeded(db: Database) -> Seeded:
    return seed_directory(db)


@dataclass
class Receiver:
    """A webhook receiver: answers each request with the next status of ``answers`` (then
    200) and keeps what it got."""

    answers: list[int] = field(default_factory=list)
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            found.got.append((dict(self.headers), body))
            self.send_response(found.answers.pop(0) if found.answers else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/tenantsync"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


def task(db: Database, org_id: int, name: str, type_: str = "probe", **options: Any) -> int:
    with db.session() as session:
        org = session.get(Organization, org_id)
        assert org is not None
        return make_task(session, org, name, type_=type_, options=options).id


def run(db: Database, settings: Settings, client: Any, task_id: int) -> dict[str, Any]:
    run_id = client.post(f"/api/v1/tasks/{task_id}/run").json()["id"]
    assert Worker(db, settings, console_registry(), name="test-worker").step(run_id)
    ended: dict[str, Any] = client.get(f"/api/v1/runs/{run_id}").json()
    return ended


def due_now(db: Database) -> None:
    """Bring the retries forward (the test does not wait out the backoff)."""
    with db.session() as session:
        session.execute(
            update(NotificationDelivery)
            .where(NotificationDelivery.status == "pending")
            .values(next_attempt_at=utcnow())
        )


def webhook(
    client: Any, seeded: Seeded, receiver: Receiver, events: list[str], secret: str | None = SECRET
) -> Any:
    """Subscribe ``client``'s account's webhook at ``receiver`` to ``events``."""
    body = {"organization_id": seeded.org_id, "channel": "webhook", "url": receiver.url}
    return client.post(
        "/api/v1/notifications/subscriptions", json={**body, "events": events, "secret": secret}
    )


def verify(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """The body of a delivery whose signature checks out with :data:`SECRET`."""
    stamp = headers["X-Tenantsync-Timestamp"]
    mac = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Tenantsync-Signature"], f"sha256={mac}")
    payload: dict[str, Any] = json.loads(body)
    return payload


def test_a_webhook_gets_signed_events_and_the_change_feed_retried_after_a_500(
    api: Any,
    db: Database,
    settings: Settings,
    seeded: Seeded,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = api(Role.ADMIN)
    made = webhook(admin, seeded, receiver, ["awaiting_confirmation", "connection", "changes"])
    assert made.status_code == 201, made.text
    assert made.json()["secret"] is None and made.json()["feed_cursor"] == "0"
    assert run(db, settings, admin, task(db, seeded.org_id, "adds", additions=2))["status"] == (
        "succeeded"
    )
    stops = task(db, seeded.org_id, "stops", additions=0, removals=3, threshold=1)
    assert run(db, settings, admin, stops)["status"] == "awaiting_confirmation"
    broken = task(db, seeded.org_id, "broken", fail_with="tenant unreachable: 503 from graph")
    assert run(db, settings, admin, broken)["status"] == "failed"  # the run is not held up

    receiver.answers = [500]
    dispatcher = Dispatcher(db, settings)
    assert dispatcher.step() == 3
    events = [h["X-Tenantsync-Event"] for h, _ in receiver.got]
    assert events == ["awaiting_confirmation", "connection", "changes"]
    bodies = [verify(h, b) for h, b in receiver.got]
    assert bodies[0]["task"] == "stops" and "Confirm" in bodies[0]["stop_reason"]
    assert bodies[1]["error"] == "tenant unreachable: 503 from graph"
    assert [e["key"] for e in bodies[2]["items"]] == [
        "new0@contoso.example",
        "new1@contoso.example",
    ]

    log = admin.get("/api/v1/notifications/deliveries").json()
    first = next(d for d in log["items"] if d["event"] == "awaiting_confirmation")
    assert (first["status"], first["attempts"], first["response_code"]) == ("pending", 1, 500)
    assert first["last_error"] == "the webhook answered 500" and first["next_attempt_at"]
    assert dispatcher.step() == 0  # the retry waits its pause
    due_now(db)
    assert dispatcher.step() == 1
    assert verify(*receiver.got[-1])["event"] == "awaiting_confirmation"  # the same, again
    log = admin.get("/api/v1/notifications/deliveries").json()
    assert {d["status"] for d in log["items"]} == {"delivered"}
    assert next(d for d in log["items"] if d["id"] == first["id"])["attempts"] == 2

    # The feed goes on from where the delivered batch ended, in order.
    run(db, settings, admin, task(db, seeded.org_id, "more", additions=1))
    assert dispatcher.step() == 1
    batch = verify(*receiver.got[-1])
    assert (batch["after"], batch["next"]) == ("2", "3")
    assert [e["cursor"] for e in batch["items"]] == ["3"]
    assert admin.get("/api/v1/notifications/subscriptions").json()[0]["feed_cursor"] == "3"
    assert dispatcher.step() == 0  # nothing new: nothing sent
    assert SECRET not in caplog.text
    # Another account sees neither the subscription nor its deliveries.
    reader = api(Role.READ_ONLY)
    assert reader.get("/api/v1/notifications/subscriptions").json() == []
    assert reader.get("/api/v1/notifications/deliveries").json()["total"] == 0


@dataclass
class Mailroom:
    """What the SMTP server received and who signed in."""

    messages: list[Envelope] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    port: int = 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def smtp_server(tls: ssl.SSLContext | None = None) -> Iterator[Mailroom]:
    """An SMTP server on loopback that takes :data:`SMTP_PASSWORD`; with ``tls`` it offers
    STARTTLS and takes a sign-in and mail only after it."""
    room = Mailroom(port=free_port())

    class Handler:
        async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
            room.messages.append(envelope)
            return "250 OK"

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        room.logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=data.password.decode() == SMTP_PASSWORD)

    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=room.port,
        authenticator=authenticate,
        auth_require_tls=tls is not None,
        tls_context=tls,
        require_starttls=tls is not None,
    )
    controller.start()
    try:
        yield room
    finally:
        controller.stop()


@pytest.fixture
def mailroom() -> Iterator[Mailroom]:
    with smtp_server() as room:
        yield room


def test_email_goes_through_the_smtp_server_with_its_stored_password(
    api: Any,
    db: Database,
    settings: Settings,
    seeded: Seeded,
    mailroom: Mailroom,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    reader = api(Role.READ_ONLY)
    made = reader.post(
        "/api/v1/notifications/subscriptions",
        json={
            "organization_id": seeded.org_id,
            "channel": "email",
            "events": ["failed", "connection"],
        },
    )
    assert made.status_code == 201 and made.json()["target"] == EMAILS[Role.READ_ONLY]
    changes_by_mail = {"organization_id": seeded.org_id, "channel": "email", "events": ["changes"]}
    assert (
        reader.post("/api/v1/notifications/subscriptions", json=changes_by_mail).status_code == 422
    )
    admin = api(Role.ADMIN)
    broken = task(db, seeded.org_id, "broken", fail_with="consent missing")
    assert run(db, settings, admin, broken)["status"] == "failed"

    dispatcher = Dispatcher(db, settings)
    assert dispatcher.step() == 1  # no SMTP server yet: kept for a retry
    log = reader.get("/api/v1/notifications/deliveries").json()["items"]
    assert log[0]["status"] == "pending" and "no SMTP server" in log[0]["last_error"]

    root = api(Role.SUPER_ADMIN)
    smtp = {
        "host": "127.0.0.1",
        "port": mailroom.port,
        "starttls": False,
        "username": "notifier",
        "password": SMTP_PASSWORD,
        "from_address": "tenantsync@msp.example",
    }
    assert admin.put("/api/v1/notifications/smtp", json=smtp).status_code == 403
    saved = root.put("/api/v1/notifications/smtp", json=smtp)
    assert saved.status_code == 200 and saved.json()["password_set"] is True
    assert SMTP_PASSWORD not in saved.text
    with db.session() as session:
        stored = session.scalars(select(SmtpSettings)).one()
        assert (
            stored.password_ciphertext and SMTP_PASSWORD.encode() not in stored.password_ciphertext
        )

    due_now(db)
    assert dispatcher.step() == 1
    assert mailroom.logins == [("notifier", SMTP_PASSWORD)]
    [mail] = mailroom.messages
    assert mail.rcpt_tos == [EMAILS[Role.READ_ONLY]] and mail.mail_from == "tenantsync@msp.example"
    text = mail.content.decode() if isinstance(mail.content, bytes) else str(mail.content)
    assert "broken" in text and "could not reach its source" in text and "consent missing" in text
    assert (
        reader.get("/api/v1/notifications/deliveries").json()["items"][0]["status"] == "delivered"
    )

    # Keeping the password: a change without one leaves it stored.
    kept = root.put("/api/v1/notifications/smtp", json={**smtp, "password": None})
    assert kept.json()["password_set"] is True
    assert SMTP_PASSWORD not in caplog.text


def test_the_notifications_page_subscribes_and_shows_a_made_secret_once(
    make_client: Any, root: Any, seeded: Seeded, receiver: Receiver
) -> None:
    reader = make_client(Role.READ_ONLY)
    assert "No subscriptions." in reader.page("/notifications").text
    form = {
        "organization_id": str(seeded.org_id),
        "channel": "webhook",
        "url": receiver.url,
        "event_changes": "1",
        "event_failed": "1",
    }
    made = reader.submit("/notifications", form)
    assert made.status_code == 200
    secret = made.text.split('id="new-secret">')[1].split("<")[0]
    assert len(secret) >= 32
    again = reader.page("/notifications").text
    assert secret not in again and receiver.url in again and "changes, failed" not in again
    assert "failed, changes" in again
    bad = reader.submit("/notifications", {**form, "channel": "email", "url": ""})
    assert bad.status_code == 422 and "change feed events go to webhooks only" in bad.text
    assert "SMTP server" not in reader.page("/notifications").text.split("Delivery log")[1]

    root.page("/notifications")
    smtp = {
        "host": "smtp.msp.example",
        "port": "587",
        "starttls": "1",
        "username": "notifier",
        "password": SMTP_PASSWORD,
        "from_address": "tenantsync@msp.example",
    }
    assert root.submit("/notifications/smtp", smtp).status_code == 303
    page = root.page("/notifications").text
    assert "smtp.msp.example" in page and "Password (stored)" in page
    assert SMTP_PASSWORD not in page
    assert EMAILS[Role.READ_ONLY] in page  # super administrators see every subscription


@pytest.mark.slow  # two CLI processes per backend
def test_notify_send_and_log_on_the_command_line(
    api: Any, seeded: Seeded, receiver: Receiver, tmp_path: Path, database_url: str
) -> None:
    admin = api(Role.ADMIN)
    made = webhook(admin, seeded, receiver, ["failed"], secret=None).json()
    assert admin.post(f"/api/v1/notifications/subscriptions/{made['id']}/test").status_code == 202
    cli = Cli(tmp_path, database_url)
    assert "1 deliveries attempted" in cli("notify", "send").stdout
    [(headers, body)] = receiver.got
    assert headers["X-Tenantsync-Event"] == "test" and json.loads(body)["by"] == EMAILS[Role.ADMIN]
    [line] = json.loads(cli("notify", "log", "--json").stdout)
    assert (line["event"], line["status"], line["attempts"]) == ("test", "delivered", 1)
    assert made["secret"] not in cli("notify", "log").stdout


def test_a_webhook_of_an_account_that_may_not_see_grants_gets_no_grant_changes(
    api: Any, db: Database, settings: Settings, seeded: Seeded, receiver: Receiver
) -> None:
    assert webhook(api(Role.READ_ONLY), seeded, receiver, ["changes"]).status_code == 201
    root = api(Role.SUPER_ADMIN)
    added = root.post(
        f"/api/v1/mailboxes/{seeded.shared_id}/delegates",
        json={"delegate": "adele@contoso.example", "right": "full_access"},
    )
    assert added.status_code == 201
    run(db, settings, root, task(db, seeded.org_id, "adds", additions=1))
    assert Dispatcher(db, settings).step() == 1
    batch = verify(*receiver.got[0])
    assert [(e["cursor"], e["entity"]) for e in batch["items"]] == [("2", "mailbox")]
    assert batch["next"] == "2"


def test_housekeeping_forgets_finished_deliveries_past_retention(
    api: Any, db: Database, settings: Settings, seeded: Seeded, receiver: Receiver
) -> None:
    admin = api(Role.ADMIN)
    made = webhook(admin, seeded, receiver, ["failed"]).json()
    test_url = f"/api/v1/notifications/subscriptions/{made['id']}/test"
    for _ in range(2):
        assert admin.post(test_url).status_code == 202
    assert Dispatcher(db, settings).step() == 2
    assert admin.post(test_url).status_code == 202  # pending: kept whatever its age
    with db.session() as session:
        old = utcnow() - timedelta(days=400)
        first, _, pending = sorted(session.scalars(select(NotificationDelivery.id)))
        session.execute(
            update(NotificationDelivery)
            .where(NotificationDelivery.id.in_((first, pending)))
            .values(created_at=old)
        )
    tidy = task(db, seeded.org_id, "tidy", type_="housekeeping")
    assert run(db, settings, admin, tidy)["counts"]["deliveries_purged"] == 1
    log = admin.get("/api/v1/notifications/deliveries").json()
    assert sorted(d["id"] for d in log["items"]) == [first + 1, pending]


def test_with_starttls_the_password_and_the_mail_travel_encrypted(
    api: Any,
    db: Database,
    settings: Settings,
    seeded: Seeded,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    certificates = ensure_certificates(tmp_path / "tls", ["127.0.0.1"])
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca_file))  # trust the test's CA
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(certificates.cert_file, certificates.key_file)
    root = api(Role.SUPER_ADMIN)
    with smtp_server(tls) as room:
        smtp = {
            "host": "127.0.0.1",
            "port": room.port,
            "starttls": True,
            "username": "notifier",
            "password": SMTP_PASSWORD,
            "from_address": "tenantsync@msp.example",
        }
        assert root.put("/api/v1/notifications/smtp", json=smtp).status_code == 200
        body = {"organization_id": seeded.org_id, "channel": "email", "events": ["failed"]}
        made = root.post("/api/v1/notifications/subscriptions", json=body).json()
        assert (
            root.post(f"/api/v1/notifications/subscriptions/{made['id']}/test").status_code == 202
        )
        assert Dispatcher(db, settings).step() == 1
    assert room.logins == [("notifier", SMTP_PASSWORD)]
    [mail] = room.messages
    assert mail.rcpt_tos == [EMAILS[Role.SUPER_ADMIN]]
    log = root.get("/api/v1/notifications/deliveries").json()["items"]
    assert (log[0]["event"], log[0]["status"]) == ("test", "delivered")


def test_a_worker_sends_notifications_from_its_own_thread(
    api: Any, db: Database, settings: Settings, seeded: Seeded, receiver: Receiver
) -> None:
    admin = api(Role.ADMIN)
    made = webhook(admin, seeded, receiver, ["failed"]).json()
    assert admin.post(f"/api/v1/notifications/subscriptions/{made['id']}/test").status_code == 202
    worker = Worker(db, settings, console_registry(), with_notifications=True)
    thread = threading.Thread(target=worker.run_forever)
    thread.start()
    try:
        for _ in range(1000):  # until the dispatcher has been round (no time is asserted)
            if receiver.got:
                break
            worker.stop_event.wait(0.02)
    finally:
        worker.stop_event.set()
        thread.join()
    assert [h["X-Tenantsync-Event"] for h, _ in receiver.got] == ["test"]
