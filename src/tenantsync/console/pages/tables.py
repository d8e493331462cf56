"""What every table page shares: the CSV answer streamed from its own session, and the ids
ticked in a bulk form."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from tenantsync.console.auth import check_csrf
from tenantsync.console.ops.tables import csv_lines
from tenantsync.console.pages.filters import object_id
from tenantsync.console.state import state_of

Rows = Callable[[Session], Iterable[Sequence[object]]]


def csv_response(
    request: Request, filename: str, header: Sequence[str], rows: Rows
) -> StreamingResponse:
    """A CSV download of ``rows(session)``, read while it is sent: the rows come from a
    session of its own (the request's is closed before the body goes out), a batch at a time."""
    database = state_of(request).db

    def lines() -> Iterator[bytes]:
        with database.sessions() as session:
            yield from csv_lines(header, rows(session))

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


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
