"""Changing your own password, for every role, from the console or the API.

The current password is checked under the sign-in rate limit: a wrong one counts as a failed
sign-in of the account and of the address, so the form cannot be used to guess passwords,
and it is audited as ``account.password.refused``. The new password is argon2-hashed and
the account's session epoch is raised, which ends every session signed in before; the page
binds the session that made the change to the new epoch so it stays signed in. API tokens
are separate credentials and keep working.
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from tenantsync.console.audit import record
from tenantsync.console.auth import NotSignedIn, Principal, TooManyAttempts
from tenantsync.console.ops.accounts import set_password
from tenantsync.console.ops.errors import FieldErrors
from tenantsync.console.state import state_of
from tenantsync.store.accounts import MIN_PASSWORD_LENGTH, verify_password
from tenantsync.store.models import ConsoleAccount

MAX_PASSWORD_LENGTH = 1024
WRONG_CURRENT = "the current password is wrong"
CURRENT, NEW, CONFIRM = FIELDS = ("current_password", "new_password", "confirm_password")


def _new_password_errors(new: str, confirm: str | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if len(new) < MIN_PASSWORD_LENGTH:
        errors[NEW] = f"the new password must be at least {MIN_PASSWORD_LENGTH} characters"
    elif len(new) > MAX_PASSWORD_LENGTH:
        errors[NEW] = f"the new password must be at most {MAX_PASSWORD_LENGTH} characters"
    if confirm is not None and confirm != new:
        errors[CONFIRM] = "the two new passwords differ"
    return errors


def _refused(db: Session, principal: Principal, reason: str) -> None:
    record(db, principal, "account.password.refused", principal.email, {"reason": reason})


def change_own_password(
    request: Request, principal: Principal, current: str, new: str, confirm: str | None = None
) -> int:
    """Give the signed-in account a new password; its new session epoch. ``confirm`` is the
    new password typed again (pages ask for it, the API does not). Raises FieldErrors naming
    each wrong field, or TooManyAttempts after repeated failures."""
    state = state_of(request)
    wait = state.limiter.retry_after(principal.email, principal.address)
    if wait:
        with state.db.session() as db:
            _refused(db, principal, "too many failed attempts")
        raise TooManyAttempts(wait)
    errors = _new_password_errors(new, confirm)
    with state.db.session() as db:
        account = db.get(ConsoleAccount, principal.account_id)
        if account is None or account.disabled:
            raise NotSignedIn("sign in to continue")
        if not current:
            errors[CURRENT] = "give your current password"
        elif not verify_password(account, current):
            state.limiter.failed(principal.email, principal.address)
            errors[CURRENT] = WRONG_CURRENT
            _refused(db, principal, WRONG_CURRENT)
        elif not errors and verify_password(account, new):
            errors[NEW] = "the new password is the same as the current one"
        if not errors:
            state.limiter.succeeded(principal.email)
            set_password(db, account, new, by=principal)
            return account.session_epoch
    # Raised once the session has closed, so the refusal's audit entry is committed.
    raise FieldErrors({name: errors[name] for name in FIELDS if name in errors})
