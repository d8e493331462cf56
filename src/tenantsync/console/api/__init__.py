"""The REST API under /api/v1: bearer tokens, the same role rules as the pages."""

from fastapi import APIRouter

from tenantsync.console.api import (
    account,
    accounts,
    calendar,
    connections,
    delegations,
    directory,
    feed,
    notifications,
    runs,
    setup,
    trends,
)

router = APIRouter(prefix="/api/v1")
for module in (
    account,
    accounts,
    directory,
    delegations,
    calendar,
    connections,
    setup,
    runs,
    feed,
    notifications,
    trends,
):
    router.include_router(module.router)

__all__ = ["router"]
