"""Errors the sandbox answers with, each carrying Microsoft's wire status and code.

    SandboxWireError            an answer that is not a success, rendered by the route layer
    ├── GraphError              Graph's {"error": {"code", "message", "innerError"}} body
    ├── ExchangeError           InvokeCommand's "Invalid Operation" body with the real
    │                           text in innererror.internalexception
    ├── ExchangeAuthError       401 / 403 from the Exchange admin API (role missing,
    │                           token missing or expired)
    └── TokenError              the token endpoint's AADSTS error JSON
    ChangeError                 a change asked of a tenant (admin API, CLI, tests) that names
                                something it does not hold or is not allowed

Business rules raise these; handlers only turn them into responses.
"""

from __future__ import annotations


class SandboxWireError(Exception):
    """An error answer with an HTTP status and a wire code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class GraphError(SandboxWireError):
    """A Graph error: directory codes (Request_BadRequest), Outlook codes (ErrorItemNotFound)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, code, message)
        self.headers = headers or {}


class ExchangeError(SandboxWireError):
    """An InvokeCommand failure: `exception_type` is the .NET exception Exchange names."""

    def __init__(self, status: int, exception_type: str, message: str) -> None:
        super().__init__(status, "InternalServerError" if status >= 500 else "BadRequest", message)
        self.exception_type = exception_type


class ExchangeAuthError(SandboxWireError):
    """401 (no token, expired, no Exchange.ManageAsApp) or 403 (no directory role)."""


class TokenError(SandboxWireError):
    """An Entra token endpoint error: `code` is the OAuth error, `aadsts` the AADSTS number."""

    def __init__(self, status: int, code: str, aadsts: int, message: str) -> None:
        super().__init__(status, code, message)
        self.aadsts = aadsts


def not_found(kind: str, key: str) -> GraphError:
    """Graph's 404 for a directory object that does not exist."""
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{key}' does not exist or one of its queried reference-property objects "
        f"are not present.",
    )


def bad_request(message: str) -> GraphError:
    """Graph's generic 400 for a malformed query."""
    return GraphError(400, "Request_BadRequest", message)


def unsupported_query(message: str = "Unsupported Query.") -> GraphError:
    """Graph's 400 for queries that need the advanced-query headers or are not supported."""
    return GraphError(400, "Request_UnsupportedQuery", message)


def object_not_found_exchange(identity: str, server: str) -> ExchangeError:
    """Exchange's ManagementObjectNotFoundException for an unknown -Identity."""
    return ExchangeError(
        404,
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        f"The operation couldn't be performed because object '{identity}' couldn't be found "
        f"on '{server}'.",
    )


class ChangeError(ValueError):
    """A requested change names something that does not exist or is not allowed."""
