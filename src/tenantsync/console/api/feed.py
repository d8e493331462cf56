"""The change feed: what changed in an organization's directory, in commit order."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from tenantsync.console.api.schemas import Id
from tenantsync.console.auth import DbSession, Reader
from tenantsync.console.ops import feed as ops
from tenantsync.console.problems import PROBLEM, problem
from tenantsync.store.feed import MAX_LIMIT, ResyncNeeded

router = APIRouter(tags=["change feed"])

Cursor = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9]{1,18}$",
        description="the `next` of the previous answer (opaque); none: the oldest retained",
    ),
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="feed positions per answer")]


class ChangeEventOut(BaseModel):
    """One committed change: to a mailbox (its addresses included), a source group, a
    policy group or a delegate grant."""

    cursor: str
    at: str
    entity: str
    action: str
    key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    run_id: int | None
    actor: str


class ChangeFeedOut(BaseModel):
    """Events after the cursor asked with; ask again with ``next``."""

    items: list[ChangeEventOut]
    next: str
    more: bool
    latest: str


class ResyncOut(BaseModel):
    """410: the cursor is older than the retained history."""

    type: str
    title: str
    status: int
    detail: str
    oldest: str
    latest: str


def resync_answer(gone: ResyncNeeded) -> JSONResponse:
    """410 Gone naming the oldest cursor still answered and the newest one."""
    return problem(
        410,
        "resync needed",
        f"cursor {gone.after} is not in the retained change history (older than it, or "
        f"never given): read the lists in full, then follow the feed from cursor "
        f"{gone.latest} (the oldest cursor still answered is {gone.oldest})",
        oldest=str(gone.oldest),
        latest=str(gone.latest),
    )


@router.get(
    "/organizations/{org_id}/changes",
    response_model=ChangeFeedOut,
    responses={410: {"model": ResyncOut, "content": {PROBLEM: {}}}},
)
def changes(
    org_id: Id, db: DbSession, who: Reader, after: Cursor = None, limit: Limit = 100
) -> ChangeFeedOut | JSONResponse:
    """Every committed change to the organization's mailboxes (addresses included), source
    groups, policy groups and delegate grants, in commit order, after ``after``.

    The cursor survives restarts (a stored sequence, not a time). Changes to delegate grants
    are for super administrators only: other roles get no grant events, and an answer may
    then hold fewer than ``limit`` items; follow ``next`` while ``more`` is true. A cursor
    older than the retained history is answered 410 with the oldest cursor still answered
    and the newest one: read the lists in full, then follow from ``latest``."""
    found = ops.changes(db, who, org_id, None if after is None else int(after), limit)
    if isinstance(found, ResyncNeeded):
        return resync_answer(found)
    return ChangeFeedOut(
        items=[ChangeEventOut(**e.to_json()) for e in found.events],
        next=str(found.next),
        more=found.more,
        latest=str(found.latest),
    )
