"""Pages of a query: the items, the total and the page arithmetic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results."""

    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages there are (at least one)."""
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        """Whether a later page exists."""
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        """Whether an earlier page exists."""
        return self.page > 1


def paginate(session: Session, stmt: Select[Any], page: int, per_page: int) -> Page[Any]:
    """Run ``stmt`` for one page (1-based) and count its total."""
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    items = list(session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return Page(items=items, total=total, page=page, per_page=per_page)


def page_of(items: Sequence[T], page: int, per_page: int) -> Page[T]:
    """One page of a list already in memory (a run's messages)."""
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    start = (page - 1) * per_page
    shown = list(items[start : start + per_page])
    return Page(items=shown, total=len(items), page=page, per_page=per_page)
