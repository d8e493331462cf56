"""The caller, their password, API tokens and the audit log."""

from __future__ import annotations

from fastapi import APIRouter, Request

from tenantsync.console.api.schemas import (
    AuditOut,
    Id,
    IssuedTokenOut,
    Me,
    PageNo,
    PageOut,
    PasswordChangeIn,
    PerPage,
    SearchText,
    TimezoneIn,
    TokenIn,
    TokenOut,
)
from tenantsync.console.audit import record
from tenantsync.console.auth import DbSession, Reader, Writer
from tenantsync.console.ops import audit_table
from tenantsync.console.ops import tokens as ops
from tenantsync.console.ops.grant_data import audit_rows
from tenantsync.console.ops.zones import set_display_zone
from tenantsync.console.password import change_own_password

router = APIRouter(tags=["account"])


@router.get("/me", response_model=Me)
def me(who: Reader) -> Me:
    """The account of the token."""
    return Me(email=who.email, role=who.role, timezone=who.timezone)


@router.put("/me/timezone", response_model=Me)
def change_timezone(body: TimezoneIn, db: DbSession, who: Reader) -> Me:
    """Pick the time zone the console shows your times in (an IANA name, e.g. Europe/Berlin)."""
    zone = set_display_zone(db, who.account_id, body.timezone)
    return Me(email=who.email, role=who.role, timezone=zone)


@router.post("/me/password", status_code=204)
def change_password(body: PasswordChangeIn, request: Request, who: Reader) -> None:
    """Change your own password (any role). Every console session of the account ends; API
    tokens keep working. A wrong current password is refused (422) and counts as a failed
    sign-in; repeated failures answer 429."""
    change_own_password(request, who, body.current_password, body.new_password)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(db: DbSession, who: Reader) -> list[TokenOut]:
    """Your tokens (super administrators: everyone's); values are never returned."""
    return [TokenOut.model_validate(t) for t in ops.visible_tokens(db, who)]


@router.post("/tokens", response_model=IssuedTokenOut, status_code=201)
def create_token(body: TokenIn, db: DbSession, who: Writer) -> IssuedTokenOut:
    """A new bearer token, returned this once."""
    issued = ops.create_token(db, who, body.name, body.account)
    record(db, who, "token.create", issued.token.name, {"account": issued.token.account.email})
    base = TokenOut.model_validate(issued.token).model_dump()
    return IssuedTokenOut(**base, token=issued.value)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: Id, db: DbSession, who: Writer) -> None:
    """Revoke a token; it stops working at once."""
    token = ops.revoke_token(db, who, token_id)
    record(db, who, "token.revoke", token.name, {"token": token_id})


@router.get("/audit", response_model=PageOut[AuditOut])
def audit(
    db: DbSession,
    who: Reader,
    actor: SearchText = "",
    action: SearchText = "",
    page: PageNo = 1,
    per_page: PerPage = 50,
) -> PageOut[AuditOut]:
    """The audit log, newest first (the grant of a delegate action only for super
    administrators: ``hidden`` entries leave target and detail out)."""
    found = audit_rows(
        who, audit_table.audit_log(db, page, per_page, actor, action, audit_table.DEFAULT_SORT)
    )
    return PageOut.of(found, AuditOut.model_validate)
