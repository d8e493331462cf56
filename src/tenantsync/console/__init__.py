"""The admin console: server-rendered pages and a REST API under /api/v1.

Public surface: :func:`create_app` builds the FastAPI application for given settings.
It is imported on first use, so commands that only share the console's operations
(``tenantsync accounts …``) start without loading FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tenantsync.console.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from tenantsync.console.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
