"""Who is asking: session sign-in for pages, bearer tokens for the API, roles, CSRF.

Roles rank read_only < admin < super_admin. Read-only accounts change nothing;
delegate access, console accounts and confirming removals belong to super administrators only.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.console.sessions import (
    MAX_AGE_SECONDS,
    session_of,
    sign_in_session,
    stored_session_id,
)
from tenantsync.console.state import client_address, state_of
from tenantsync.errors import PermissionDenied, TenantSyncError
from tenantsync.store.accounts import (
    account_for_token,
    end_session,
    forget_old_sessions,
    hash_password,
    open_session,
    session_is_live,
    verify_password,
)
from tenantsync.store.models import ConsoleAccount, Role
from tenantsync.timeutil import utcnow

DELEGATES = "see or change delegate access"
ACCOUNTS = "see or change console accounts"
RANK = {Role.READ_ONLY: 0, Role.ADMIN: 1, Role.SUPER_ADMIN: 2}
SESSION_MAX_AGE = timedelta(seconds=MAX_AGE_SECONDS)
LAST_SEEN_EVERY = timedelta(minutes=1)
ROLE_TITLES = {
    Role.READ_ONLY: "read-only",
    Role.ADMIN: "administrator",
    Role.SUPER_ADMIN: "super administrator",
}


class NotSignedIn(TenantSyncError):
    """No valid session or bearer token came with the request."""

    exit_code = 5


class CsrfRejected(TenantSyncError):
    """A form arrived without the CSRF token of the session that rendered it."""

    exit_code = 5


class TooManyAttempts(TenantSyncError):
    """Sign-in refused for a while after repeated failures."""

    exit_code = 5

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"too many failed sign-in attempts; try again in {retry_after} seconds")


@dataclass(frozen=True)
class Principal:
    """The signed-in account of a request."""

    account_id: int
    email: str
    role: Role
    address: str
    csrf: str = ""
    timezone: str = "UTC"  # where the pages show this account's times

    def can(self, minimum: Role) -> bool:
        """Whether this role is at least ``minimum``."""
        return RANK[self.role] >= RANK[minimum]

    @property
    def writes(self) -> bool:
        """Whether this account may change anything."""
        return self.can(Role.ADMIN)

    @property
    def super(self) -> bool:
        """Whether this account is a super administrator."""
        return self.can(Role.SUPER_ADMIN)

    @property
    def role_title(self) -> str:
        """The role as the pages name it."""
        return ROLE_TITLES[self.role]


def db_session(request: Request) -> Iterator[Session]:
    """A store session committed when the handler returns, before the response is sent."""
    with state_of(request).db.session() as session:
        yield session


DbSession = Annotated[Session, Depends(db_session, scope="function")]


def _principal(account: ConsoleAccount, request: Request, csrf: str = "") -> Principal:
    return Principal(
        account.id, account.email, account.role, client_address(request), csrf, account.timezone
    )


def session_principal(request: Request) -> Principal | None:
    """The account signed in through the session cookie, or None."""
    session = session_of(request)
    account_id = session.get("aid")
    session_id = stored_session_id(request)
    if not isinstance(account_id, int) or session_id is None:
        return None
    with state_of(request).db.session() as db:
        account = db.get(ConsoleAccount, account_id)
        if account is None or account.disabled:
            return None
        if session.get("epoch", 0) != account.session_epoch:
            return None  # signed in before the password changed
        if not session_is_live(
            db, session_id, account.id, max_age=SESSION_MAX_AGE, touch_after=LAST_SEEN_EVERY
        ):
            return None  # signed out (perhaps in another browser holding a copy), or expired
        return _principal(account, request, str(session.get("csrf", "")))


def token_principal(request: Request) -> Principal | None:
    """The account of the request's bearer token, or None."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    with state_of(request).db.session() as db:
        account = account_for_token(db, value.strip())
        return None if account is None else _principal(account, request)


def require_api(minimum: Role, what: str = DELEGATES) -> Callable[[Request], Principal]:
    """An API dependency: a bearer token whose account has at least ``minimum`` (``what``
    names what super administrators alone may do, for the refusal)."""

    def dependency(request: Request) -> Principal:
        principal = token_principal(request)
        if principal is None:
            raise NotSignedIn("a valid bearer token is required")
        _check(principal, minimum, what)
        return principal

    return dependency


def require_page(minimum: Role, what: str = DELEGATES) -> Callable[[Request], Principal]:
    """A page dependency: a signed-in session with at least ``minimum``."""

    def dependency(request: Request) -> Principal:
        principal = session_principal(request)
        if principal is None:
            raise NotSignedIn("sign in to continue")
        _check(principal, minimum, what)
        return principal

    return dependency


def _check(principal: Principal, minimum: Role, what: str) -> None:
    if principal.can(minimum):
        return
    if minimum is Role.SUPER_ADMIN:
        raise PermissionDenied(f"only super administrators may {what}")
    raise PermissionDenied(f"a {principal.role_title} account may not change anything")


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse a form whose CSRF token is not the session's."""
    expected = str(session_of(request).get("csrf", ""))
    if not submitted or not expected or not hmac.compare_digest(submitted, expected):
        raise CsrfRejected("the form expired or came from another site; reload and try again")


@functools.cache
def _unknown_account() -> ConsoleAccount:
    return ConsoleAccount(password_hash=hash_password(secrets.token_urlsafe(24)))


def sign_in(request: Request, db: Session, email: str, password: str) -> ConsoleAccount:
    """Check a password under the rate limit and bind the session to the account."""
    state = state_of(request)
    address = client_address(request)
    email = email.strip().lower()
    wait = state.limiter.retry_after(email, address)
    if wait:
        raise TooManyAttempts(wait)
    account = db.scalar(select(ConsoleAccount).where(ConsoleAccount.email == email))
    if account is None:
        # Hash anyway, so the answer takes as long as for a known account.
        verify_password(_unknown_account(), password)
    if account is None or account.disabled or not verify_password(account, password):
        state.limiter.failed(email, address)
        raise PermissionDenied("wrong email or password")
    state.limiter.succeeded(email)
    account.last_sign_in_at = utcnow()
    bind_session(request, db, account.id, account.session_epoch)
    return account


def bind_session(request: Request, db: Session, account_id: int, epoch: int) -> None:
    """Give the request a new stored session of the account (ending the one its cookie
    named, so an older copy of the cookie stops working) and write it into the cookie."""
    end_request_session(request, db)
    forget_old_sessions(db, account_id, max_age=SESSION_MAX_AGE)
    sign_in_session(request, account_id, epoch, open_session(db, account_id))


def end_request_session(request: Request, db: Session) -> None:
    """End the stored session the request's cookie names, for every console process."""
    session_id = stored_session_id(request)
    if session_id is not None:
        end_session(db, session_id)


Reader = Annotated[Principal, Depends(require_api(Role.READ_ONLY))]
Writer = Annotated[Principal, Depends(require_api(Role.ADMIN))]
Super = Annotated[Principal, Depends(require_api(Role.SUPER_ADMIN))]
PageReader = Annotated[Principal, Depends(require_page(Role.READ_ONLY))]
PageWriter = Annotated[Principal, Depends(require_page(Role.ADMIN))]
PageSuper = Annotated[Principal, Depends(require_page(Role.SUPER_ADMIN))]
AccountsAdmin = Annotated[Principal, Depends(require_api(Role.SUPER_ADMIN, ACCOUNTS))]
PageAccountsAdmin = Annotated[Principal, Depends(require_page(Role.SUPER_ADMIN, ACCOUNTS))]
