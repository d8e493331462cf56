"""Console accounts (argon2 password hashes), their console sessions and API tokens (both
stored as SHA-256)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from tenantsync.errors import ConfigError
from tenantsync.store.limits import too_long
from tenantsync.store.models import ApiToken, ConsoleAccount, ConsoleSession, Role
from tenantsync.timeutil import utcnow

_HASHER = PasswordHasher()
TOKEN_PREFIX = "tsk_"  # noqa: S105 - a marker, not a secret
MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    """The argon2 hash of a password, refusing passwords that are too short."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConfigError(f"must be at least {MIN_PASSWORD_LENGTH} characters", field="password")
    return _HASHER.hash(password)


def verify_password(account: ConsoleAccount, password: str) -> bool:
    """Whether ``password`` is the account's password (constant-time in argon2)."""
    try:
        return _HASHER.verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def set_password(account: ConsoleAccount, password: str) -> None:
    """Give the account a new password and end every session signed in with the old one."""
    account.password_hash = hash_password(password)
    # Raised in SQL, not in Python, so two changes at once cannot both write the same epoch.
    account.session_epoch = ConsoleAccount.session_epoch + 1


def create_account(session: Session, email: str, password: str, role: Role) -> ConsoleAccount:
    """A new console account; the email must not be taken."""
    email = email.strip().lower()
    if "@" not in email:
        raise ConfigError(f"{email!r} is not an email address", field="email")
    if too := too_long(ConsoleAccount, email=email):
        raise ConfigError(too["email"], field="email")
    if session.scalar(select(ConsoleAccount).where(ConsoleAccount.email == email)):
        raise ConfigError(f"an account {email} already exists", field="email")
    account = ConsoleAccount(email=email, password_hash=hash_password(password), role=role)
    session.add(account)
    session.flush()
    return account


@dataclass(frozen=True)
class IssuedToken:
    """A freshly created API token: ``value`` is shown once and never stored."""

    token: ApiToken
    value: str


def token_digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def issue_token(session: Session, account: ConsoleAccount, name: str) -> IssuedToken:
    """A new bearer token for ``account``; only its digest is kept."""
    value = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        account_id=account.id,
        name=name,
        token_hash=token_digest(value),
        prefix=value[: len(TOKEN_PREFIX) + 6],
    )
    session.add(token)
    session.flush()
    return IssuedToken(token=token, value=value)


def account_for_token(session: Session, value: str) -> ConsoleAccount | None:
    """The account a live token belongs to, or None for unknown, revoked or expired tokens."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(value)))
    now = utcnow()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.account.disabled:
        return None
    token.last_used_at = now
    return token.account


def open_session(session: Session, account_id: int) -> str:
    """A new console session of the account; returns the id its cookie carries (only the
    id's digest is stored)."""
    value = secrets.token_urlsafe(32)
    session.add(ConsoleSession(account_id=account_id, token_hash=token_digest(value)))
    session.flush()
    return value


def session_is_live(
    session: Session, value: str, account_id: int, *, max_age: timedelta, touch_after: timedelta
) -> bool:
    """Whether the console session ``value`` of the account has neither ended nor expired;
    its last-seen time moves when older than ``touch_after``."""
    row = session.scalar(
        select(ConsoleSession).where(ConsoleSession.token_hash == token_digest(value))
    )
    now = utcnow()
    if row is None or row.account_id != account_id or row.ended_at is not None:
        return False
    if now - row.created_at > max_age:
        return False
    # Written at most once per ``touch_after``: not one database write per request.
    if now - row.last_seen_at > touch_after:
        row.last_seen_at = now
    return True


def end_session(session: Session, value: str) -> None:
    """End the console session ``value``; its cookie is refused from now on, everywhere."""
    session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.token_hash == token_digest(value), ConsoleSession.ended_at.is_(None))
        .values(ended_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def forget_old_sessions(session: Session, account_id: int, *, max_age: timedelta) -> None:
    """Delete the account's sessions that ended or expired (they can never be used again)."""
    session.execute(
        delete(ConsoleSession)
        .where(
            ConsoleSession.account_id == account_id,
            or_(
                ConsoleSession.ended_at.is_not(None),
                ConsoleSession.created_at < utcnow() - max_age,
            ),
        )
        .execution_options(synchronize_session=False)
    )
