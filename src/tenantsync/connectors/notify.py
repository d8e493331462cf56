"""Sending notifications: a webhook's signed JSON POST and an email over SMTP.

A webhook body is JSON; its signature is HMAC-SHA256 over ``"<timestamp>.<body>"`` with
the subscription's secret, sent as ``X-Tenantsync-Signature: sha256=<hex>`` beside
``X-Tenantsync-Timestamp`` (Unix seconds), so a receiver can refuse old or replayed
deliveries. Each function raises :class:`DeliveryFailed` with a reason that never holds a
secret; the dispatcher decides when to try again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from tenantsync.connectors.http import post_once

SIGNATURE = "X-Tenantsync-Signature"
TIMESTAMP = "X-Tenantsync-Timestamp"
EVENT = "X-Tenantsync-Event"
DELIVERY = "X-Tenantsync-Delivery"
TIMEOUT = 10.0


class DeliveryFailed(Exception):
    """A notification was not accepted; ``code`` is the HTTP status when one came."""

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.code = code


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def post_webhook(
    url: str, secret: str, event: str, delivery_id: int, payload: dict[str, Any]
) -> int:
    """POST the signed payload; the status code of a 2xx answer."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "tenantsync-notifications",
        TIMESTAMP: timestamp,
        SIGNATURE: sign(secret, timestamp, body),
        EVENT: event,
        DELIVERY: str(delivery_id),
    }
    try:
        code = post_once(url, body, headers, TIMEOUT)
    except OSError as exc:
        raise DeliveryFailed(f"cannot reach the webhook: {exc}") from exc
    if not 200 <= code < 300:
        raise DeliveryFailed(f"the webhook answered {code}", code)
    return code


@dataclass(frozen=True)
class SmtpServer:
    """Where and how email is sent."""

    host: str
    port: int
    starttls: bool
    username: str | None
    password: str | None
    from_address: str


def send_email(server: SmtpServer, to: str, subject: str, text: str) -> None:
    """Send a plain-text email through ``server`` (STARTTLS first when set)."""
    message = EmailMessage()
    message["From"] = server.from_address
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    try:
        with smtplib.SMTP(server.host, server.port, timeout=TIMEOUT) as smtp:
            if server.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if server.username:
                smtp.login(server.username, server.password or "")
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryFailed(f"the SMTP server refused the sign-in ({exc.smtp_code})") from exc
    except smtplib.SMTPException as exc:
        raise DeliveryFailed(f"the SMTP server refused the message: {type(exc).__name__}") from exc
    except OSError as exc:
        raise DeliveryFailed(f"cannot reach the SMTP server: {exc}") from exc
