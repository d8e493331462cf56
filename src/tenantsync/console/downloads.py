"""CSV downloads for pages and the API alike: the rows are read while they are sent, from a
session of their own, a batch at a time (the request's session is closed before the body
goes out)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from tenantsync.console.ops.tables import csv_lines
from tenantsync.console.state import state_of

Rows = Callable[[Session], Iterable[Sequence[object]]]
# How the API describes a download in its OpenAPI document.
CSV_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {
        "description": "a CSV file (UTF-8 with a byte-order mark), streamed",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


def csv_response(
    request: Request, filename: str, header: Sequence[str], rows: Rows
) -> StreamingResponse:
    """A CSV download of ``rows(session)`` under ``header``, named ``filename``."""
    database = state_of(request).db

    def lines() -> Iterator[bytes]:
        with database.sessions() as session:
            yield from csv_lines(header, rows(session))

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
