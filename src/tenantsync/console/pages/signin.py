"""Sign in and sign out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tenantsync.console.audit import record
from tenantsync.console.auth import (
    TooManyAttempts,
    end_request_session,
    session_principal,
    sign_in,
)
from tenantsync.console.pages.render import form_data, redirect, render
from tenantsync.console.sessions import sign_out_session
from tenantsync.console.state import client_address, state_of
from tenantsync.errors import PermissionDenied

router = APIRouter()
Form = Annotated[dict[str, str], Depends(form_data)]


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, next: str = "/") -> HTMLResponse:
    """The sign-in form."""
    return render(request, "signin.html", None, next=_safe_next(next), email="", error=None)


@router.post("/signin", response_model=None)
def signin_submit(request: Request, form: Form) -> HTMLResponse | RedirectResponse:
    """Check the password under the rate limit; failures are audited too."""
    db = state_of(request).db
    email = form.get("email", "").strip().lower()[:320]
    target = _safe_next(form.get("next"))
    address = client_address(request)
    try:
        with db.session() as session:
            account = sign_in(request, session, email, form.get("password", ""))
            record(session, None, "sign_in", account.email, actor=account.email, address=address)
    except (PermissionDenied, TooManyAttempts) as exc:
        with db.session() as session:
            record(
                session,
                None,
                "sign_in.refused",
                email,
                {"reason": str(exc)},
                actor=email or "anonymous",
                address=address,
            )
        status = 429 if isinstance(exc, TooManyAttempts) else 401
        response = render(
            request, "signin.html", None, status, next=target, email=email, error=str(exc)
        )
        if isinstance(exc, TooManyAttempts):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return redirect(request, target, f"Signed in as {account.email}")


@router.post("/signout")
def signout(request: Request, form: Form) -> RedirectResponse:
    """End the session on the server (a copy of its cookie stops working at once); the
    account's sessions in other browsers stay signed in."""
    principal = session_principal(request)
    with state_of(request).db.session() as session:
        if principal is not None:
            record(session, principal, "sign_out", principal.email)
        end_request_session(request, session)
    sign_out_session(request)
    return redirect(request, "/signin", "Signed out")
