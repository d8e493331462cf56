"""API tokens: shown once, stored as SHA-256, revocable."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.console.auth import Principal
from tenantsync.console.ops.errors import FieldErrors
from tenantsync.errors import NotFound, PermissionDenied
from tenantsync.store.accounts import IssuedToken, issue_token
from tenantsync.store.limits import TOKEN_NAME
from tenantsync.store.models import ApiToken, ConsoleAccount
from tenantsync.timeutil import utcnow


def visible_tokens(session: Session, principal: Principal) -> list[ApiToken]:
    """The caller's tokens; super administrators see everyone's."""
    stmt = select(ApiToken).order_by(ApiToken.id.desc())
    if not principal.super:
        stmt = stmt.where(ApiToken.account_id == principal.account_id)
    return list(session.scalars(stmt))


def create_token(
    session: Session, principal: Principal, name: str, for_email: str | None = None
) -> IssuedToken:
    """A new token for the caller, or (super administrators) for another account."""
    name = name.strip()
    if not name or len(name) > TOKEN_NAME:
        raise FieldErrors({"name": f"give a name of 1 to {TOKEN_NAME} characters"})
    email = (for_email or "").strip().lower() or principal.email
    if email != principal.email and not principal.super:
        raise PermissionDenied("only super administrators issue tokens for other accounts")
    account = session.scalar(select(ConsoleAccount).where(ConsoleAccount.email == email))
    if account is None or account.disabled:
        raise FieldErrors({"account": f"no active account {email}"})
    return issue_token(session, account, name)


def revoke_token(session: Session, principal: Principal, token_id: int) -> ApiToken:
    """Revoke a token at once; callers revoke their own, super administrators any."""
    token = session.get(ApiToken, token_id)
    if token is None or (token.account_id != principal.account_id and not principal.super):
        raise NotFound(f"no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    session.flush()
    return token
