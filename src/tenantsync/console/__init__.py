"""The admin console: server-rendered pages and a REST API under /api/v1.

Public surface: :func:`create_app` builds the FastAPI application for given settings.
"""

from tenantsync.console.app import create_app

__all__ = ["create_app"]
