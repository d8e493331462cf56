"""Server-rendered pages (Jinja2), readable without JavaScript."""

from fastapi import APIRouter

from tenantsync.console.pages import (
    account,
    accounts,
    calendar,
    connections,
    definitions,
    delegations,
    directory,
    home,
    hybrid,
    mailboxes,
    notifications,
    signin,
    trends,
)
from tenantsync.console.pages import runs as run_pages
from tenantsync.console.pages import tasks as task_pages

router = APIRouter(include_in_schema=False)
for module in (
    signin,
    home,
    account,
    accounts,
    directory,
    mailboxes,
    delegations,
    calendar,
    connections,
    definitions,
    task_pages,
    run_pages,
    hybrid,
    notifications,
    trends,
):
    router.include_router(module.router)

__all__ = ["router"]
