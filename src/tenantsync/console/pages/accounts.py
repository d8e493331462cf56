"""Console accounts (super administrators): list, add, change role, set password, disable
and enable."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from tenantsync.console.api.schemas import Id, PageNo, SearchText
from tenantsync.console.auth import ROLE_TITLES, DbSession, PageAccountsAdmin, Principal
from tenantsync.console.ops import accounts as ops
from tenantsync.console.ops.errors import field_errors
from tenantsync.console.pages.filters import choice
from tenantsync.console.pages.render import form_data, redirect, render
from tenantsync.errors import ConfigError
from tenantsync.store.models import Role

router = APIRouter()
Form = Annotated[dict[str, str], Depends(form_data)]


def _page(
    request: Request,
    db: Session,
    me: Principal,
    status_code: int = 200,
    *,
    q: str = "",
    page: int = 1,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    problem: str = "",
) -> HTMLResponse:
    return render(
        request,
        "accounts.html",
        me,
        status_code,
        accounts=ops.list_accounts(db, page, 50, q),
        q=q,
        roles=[(r.value, ROLE_TITLES[r]) for r in Role],
        errors=errors or {},
        form=form or {"role": Role.READ_ONLY.value},
        problem=problem,
    )


@router.get("/accounts", response_class=HTMLResponse)
def accounts(
    request: Request, db: DbSession, me: PageAccountsAdmin, q: SearchText = "", page: PageNo = 1
) -> HTMLResponse:
    """Accounts with role, state and last sign-in, and the form to add one."""
    return _page(request, db, me, q=q, page=page)


@router.post("/accounts", response_model=None)
def add_account(
    request: Request, db: DbSession, me: PageAccountsAdmin, form: Form
) -> HTMLResponse | RedirectResponse:
    """Add an account with a role and an initial password; errors beside the fields."""
    role = choice(Role, form.get("role", ""))
    try:
        if role is None:
            raise ConfigError("pick a role", field="role")
        account = ops.add_account(db, form.get("email", ""), form.get("password", ""), role, by=me)
    except ConfigError as exc:
        kept = {k: v for k, v in form.items() if k != "password"}
        return _page(request, db, me, 422, errors=field_errors(exc), form=kept)
    return redirect(request, "/accounts", f"Account {account.email} added")


@router.post("/accounts/{account_id}/role", response_model=None)
def change_role(
    request: Request, account_id: Id, db: DbSession, me: PageAccountsAdmin, form: Form
) -> HTMLResponse | RedirectResponse:
    """Give an account another role (never demoting the last super administrator)."""
    account = ops.get_account(db, account_id)
    role = choice(Role, form.get("role", ""))
    if role is None:
        return _page(request, db, me, 422, problem="pick a role")
    try:
        ops.set_role(db, account, role, by=me)
    except ops.LastSuperAdmin as exc:
        return _page(request, db, me, 409, problem=str(exc))
    return redirect(request, "/accounts", f"{account.email} is now {ROLE_TITLES[role]}")


@router.post("/accounts/{account_id}/password", response_model=None)
def set_password(
    request: Request, account_id: Id, db: DbSession, me: PageAccountsAdmin, form: Form
) -> HTMLResponse | RedirectResponse:
    """Give another account a new password (when its owner lost it): every session of that
    account ends; its API tokens keep working. Your own goes through Your account."""
    account = ops.get_account(db, account_id)
    try:
        ops.reset_password(db, account, form.get("password", ""), by=me)
    except ops.OwnPassword as exc:
        return _page(request, db, me, 422, problem=str(exc))
    except ConfigError as exc:
        reason = field_errors(exc).get("password", str(exc))
        return _page(request, db, me, 422, problem=f"the new password for {account.email} {reason}")
    notice = f"New password set for {account.email}; their sessions were signed out"
    return redirect(request, "/accounts", notice)


@router.post("/accounts/{account_id}/disable", response_model=None)
def disable(
    request: Request, account_id: Id, db: DbSession, me: PageAccountsAdmin, form: Form
) -> HTMLResponse | RedirectResponse:
    """Disable an account: no sign-in, its API tokens stop at once."""
    account = ops.get_account(db, account_id)
    try:
        revoked = ops.set_disabled(db, account, True, by=me)
    except ops.LastSuperAdmin as exc:
        return _page(request, db, me, 409, problem=str(exc))
    notice = f"{account.email} disabled"
    if revoked:
        notice += f"; {revoked} API token{'s' if revoked != 1 else ''} revoked"
    return redirect(request, "/accounts", notice)


@router.post("/accounts/{account_id}/enable")
def enable(
    request: Request, account_id: Id, db: DbSession, me: PageAccountsAdmin, form: Form
) -> RedirectResponse:
    """Enable a disabled account again (its revoked tokens stay revoked)."""
    account = ops.get_account(db, account_id)
    ops.set_disabled(db, account, False, by=me)
    return redirect(request, "/accounts", f"{account.email} enabled")
