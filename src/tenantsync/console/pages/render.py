"""Rendering pages: one Jinja2 environment (autoescaped), the signed-in account, CSRF, notices."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from tenantsync.console.auth import CsrfRejected, Principal, check_csrf, session_principal
from tenantsync.console.sessions import pop_flash, session_of, set_flash
from tenantsync.worker.scheduler import timing_of

TEMPLATES = Path(__file__).parent.parent / "templates"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@pass_context
def _fmt_time(context: Context, value: datetime | None) -> Markup:
    """A moment in the account's time zone, the UTC time on hover."""
    if value is None:
        return Markup("")
    me = context.get("me")
    zone = _zone(me.timezone if isinstance(me, Principal) else "UTC")
    utc = value.astimezone(UTC)
    local = utc.astimezone(zone)
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        utc.isoformat(),
        utc.strftime("%Y-%m-%d %H:%M:%S UTC"),
        local.strftime("%Y-%m-%d %H:%M:%S %Z"),
    )


def _fmt_json(value: Any) -> str:
    # Names are shown as written ("Jóhanna"), not as JSON escapes ("J\u00f3hanna").
    return (
        "" if value is None else json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    )


def _make_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["time"] = _fmt_time
    env.filters["json"] = _fmt_json
    env.filters["in_words"] = lambda schedule: timing_of(schedule).sentence()
    return env


ENV = _make_env()


def render(
    request: Request,
    template: str,
    principal: Principal | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page for the signed-in account, with the CSRF token every form needs."""
    html = ENV.get_template(template).render(
        request=request,
        me=principal,
        csrf=str(session_of(request).get("csrf", "")),
        flash=pop_flash(request),
        query=lambda **kw: _query(request, **kw),
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def _query(request: Request, **changes: Any) -> str:
    """The current query string with some parameters changed (for paging links)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        params[key] = str(value)
    return "?" + urlencode(params)


def render_error(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    """The error page (a 403 names what the role may not do)."""
    principal = session_principal(request) if hasattr(request.state, "session") else None
    return render(request, "error.html", principal, status_code=status, title=title, detail=detail)


def redirect(request: Request, url: str, notice: str | None = None) -> RedirectResponse:
    """Back to a page after a form, with a one-line notice."""
    if notice:
        set_flash(request, notice)
    return RedirectResponse(url, status_code=303)


def saved_notice(what: str, saved: Any) -> str:
    """The notice after a save: "Task t saved", with the notes on what is not checked yet."""
    notice = f"{what} {saved.obj.name} saved"
    return "; ".join([notice, *(f"note: {n}" for n in saved.notes)])


async def form_data(request: Request) -> dict[str, str]:
    """The submitted form, after checking its CSRF token."""
    form = await request.form()
    data = {k: v for k, v in form.items() if isinstance(v, str)}
    check_csrf(request, data.get("csrf"))
    return data


__all__ = ["CsrfRejected", "form_data", "redirect", "render", "render_error", "saved_notice"]
