"""Your account: every signed-in account sees its role and changes its own password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tenantsync.console.auth import (
    DbSession,
    PageReader,
    Principal,
    TooManyAttempts,
    bind_session,
)
from tenantsync.console.ops.errors import FieldErrors
from tenantsync.console.ops.zones import set_display_zone, zone_names
from tenantsync.console.pages.render import form_data, redirect, render
from tenantsync.console.password import change_own_password
from tenantsync.store.accounts import MIN_PASSWORD_LENGTH

router = APIRouter()
Form = Annotated[dict[str, str], Depends(form_data)]


def _page(
    request: Request, me: Principal, status_code: int = 200, errors: dict[str, str] | None = None
) -> HTMLResponse:
    return render(
        request,
        "account.html",
        me,
        status_code,
        errors=errors or {},
        min_length=MIN_PASSWORD_LENGTH,
        zones=zone_names(),
    )


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, me: PageReader) -> HTMLResponse:
    """Your email and role, and the form to change your password."""
    return _page(request, me)


@router.post("/account/password", response_model=None)
def change_password(
    request: Request, db: DbSession, me: PageReader, form: Form
) -> HTMLResponse | RedirectResponse:
    """Change your password; every other session of the account is signed out, this one
    stays signed in. Errors name each wrong field; the passwords are never shown again."""
    try:
        epoch = change_own_password(
            request,
            me,
            form.get("current_password", ""),
            form.get("new_password", ""),
            form.get("confirm_password", ""),
        )
    except FieldErrors as exc:
        return _page(request, me, 422, exc.errors)
    except TooManyAttempts as exc:
        response = _page(request, me, 429, {"current_password": str(exc)})
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    bind_session(request, db, me.account_id, epoch)
    return redirect(request, "/account", "Password changed; your other sessions were signed out")


@router.post("/account/timezone", response_model=None)
def change_timezone(
    request: Request, db: DbSession, me: PageReader, form: Form
) -> HTMLResponse | RedirectResponse:
    """Pick the time zone the pages show your times in (UTC stays on hover)."""
    try:
        zone = set_display_zone(db, me.account_id, form.get("timezone", ""))
    except FieldErrors as exc:
        return _page(request, me, 422, exc.errors)
    return redirect(request, "/account", f"Times are now shown in {zone}")
