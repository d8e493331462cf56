"""What table pages share besides their CSV download (``console/downloads.py``): the ids
ticked in a bulk form, counted nouns."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from tenantsync.console.auth import check_csrf
from tenantsync.console.pages.filters import object_id


async def ids_form(request: Request) -> tuple[list[int], str]:
    """The ids ticked in a bulk form (after its CSRF check), and the list's query to return to."""
    form = await request.form()
    csrf = form.get("csrf")
    check_csrf(request, csrf if isinstance(csrf, str) else None)
    ids = [object_id(v) for v in form.getlist("ids") if isinstance(v, str)]
    back = form.get("back")
    query = back if isinstance(back, str) and back.startswith("?") else ""
    return [i for i in ids if i is not None], query


IdsForm = Annotated[tuple[list[int], str], Depends(ids_form)]


def plural(count: int, one: str, many: str) -> str:
    """ "1 mailbox", "3 mailboxes"."""
    return f"{count} {one if count == 1 else many}"
