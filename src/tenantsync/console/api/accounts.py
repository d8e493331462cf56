"""Console accounts (super administrators only)."""

from __future__ import annotations

from fastapi import APIRouter

from tenantsync.console.api.schemas import (
    AccountIn,
    AccountOut,
    AccountPatch,
    Id,
    PageNo,
    PageOut,
    PasswordIn,
    PerPage,
    SearchText,
)
from tenantsync.console.auth import AccountsAdmin, DbSession
from tenantsync.console.ops import accounts as ops

router = APIRouter(tags=["accounts"])


@router.get("/accounts", response_model=PageOut[AccountOut])
def list_accounts(
    db: DbSession, who: AccountsAdmin, q: SearchText = "", page: PageNo = 1, per_page: PerPage = 50
) -> PageOut[AccountOut]:
    """Console accounts by email: role, disabled, last sign-in."""
    return PageOut.of(ops.list_accounts(db, page, per_page, q), AccountOut.model_validate)


@router.post("/accounts", response_model=AccountOut, status_code=201)
def create_account(body: AccountIn, db: DbSession, who: AccountsAdmin) -> AccountOut:
    """Add an account with a role and an initial password."""
    account = ops.add_account(db, body.email, body.password, body.role, by=who)
    return AccountOut.model_validate(account)


@router.get("/accounts/{account_id}", response_model=AccountOut)
def get_account(account_id: Id, db: DbSession, who: AccountsAdmin) -> AccountOut:
    """One account."""
    return AccountOut.model_validate(ops.get_account(db, account_id))


@router.patch("/accounts/{account_id}", response_model=AccountOut)
def change_account(
    account_id: Id, body: AccountPatch, db: DbSession, who: AccountsAdmin
) -> AccountOut:
    """Change the role, or disable (its tokens stop at once) or enable the account; the last
    active super administrator is never demoted or disabled (409)."""
    account = ops.get_account(db, account_id)
    if body.role is not None:
        ops.set_role(db, account, body.role, by=who)
    if body.disabled is not None:
        ops.set_disabled(db, account, body.disabled, by=who)
    return AccountOut.model_validate(account)


@router.put("/accounts/{account_id}/password", status_code=204)
def set_password(account_id: Id, body: PasswordIn, db: DbSession, who: AccountsAdmin) -> None:
    """Set another account's password (for someone who lost theirs): every console session
    of that account ends, its API tokens keep working. Your own password changes through
    POST /me/password, with the current one (422 here)."""
    ops.reset_password(db, ops.get_account(db, account_id), body.password, by=who)
