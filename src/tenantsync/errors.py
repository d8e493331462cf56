"""The exception tree of tenantsync, named by what the caller should do.

    TenantSyncError                 base of everything we raise on purpose
    ├── ConfigError                 configuration is wrong: names the field and where; stop
    │   └── SettingsError           the effective settings cannot be used (URL, key file)
    ├── StoreError                  the database cannot be used as it is
    │   └── SchemaMismatch          not migrated, or newer than this code: run a command
    ├── NotFound                    a named object (task, run, organization) does not exist
    ├── PermissionDenied            the signed-in role may not do this
    ├── SourceError                 the source directory answered badly
    │   ├── retryable=True          transient (429, 503, reset): back off and retry
    │   ├── AuthError               credentials or consent are wrong; stop the run
    │   ├── IncompleteRead          a read did not finish: the snapshot forbids deletions
    │   └── DeltaExpired            a delta link is no longer known: read everything again
    ├── GuardStop                   a plan crossed a safety threshold; needs confirmation
    └── RunCancelled                the run was cancelled while it worked

Each class says what happens next in one table (``ERROR_TABLE``, written out in
docs/architecture.md): the status a run ends with, the CLI's exit code, the HTTP status
of the API's problem+json answer. The worker, the CLI and the console read it from here.
"""

from __future__ import annotations


class TenantSyncError(Exception):
    """Base of every error tenantsync raises on purpose."""

    exit_code = 1
    http_status = 400
    run_status: str | None = "failed"


class ConfigError(TenantSyncError):
    """Configuration is wrong; the message names the field and where it was given."""

    exit_code = 2
    http_status = 422

    def __init__(self, message: str, *, field: str | None = None, where: str | None = None):
        self.field = field
        self.where = where
        prefix = ""
        if where:
            prefix += f"{where}: "
        if field:
            prefix += f"{field}: "
        super().__init__(prefix + message)


class SettingsError(ConfigError):
    """The effective settings cannot be used (bad database URL, unreadable key file)."""


class StoreError(TenantSyncError):
    """The database cannot be used as it is."""

    exit_code = 3
    http_status = 503


class SchemaMismatch(StoreError):
    """The schema is not the one this code expects; the message names the fixing command."""


class NotFound(TenantSyncError):
    """A named object does not exist."""

    exit_code = 4
    http_status = 404
    run_status = None


class PermissionDenied(TenantSyncError):
    """The caller's role may not do this."""

    exit_code = 5
    http_status = 403
    run_status = None


class SourceError(TenantSyncError):
    """The source directory answered badly; ``retryable`` says whether trying again may help
    (the worker queues a run that failed so again, with backoff)."""

    exit_code = 6
    http_status = 502

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        status: int | None = None,
        error_type: str = "",
    ):
        self.retryable = retryable
        self.status = status
        self.error_type = error_type
        super().__init__(message)


class AuthError(SourceError):
    """Credentials, consent or a role are missing; retrying will not help."""


class IncompleteRead(SourceError):
    """A read did not finish; a snapshot built from it must never cause deletions."""

    run_status = "warning"


class DeltaExpired(SourceError):
    """The source no longer knows a saved delta link; the caller does a full read instead."""

    run_status = None


class GuardStop(TenantSyncError):
    """A plan crossed a safety threshold and waits for an administrator to confirm it."""

    exit_code = 7
    http_status = 409
    run_status = "awaiting_confirmation"


class RunCancelled(TenantSyncError):
    """The run was cancelled while it was working."""

    exit_code = 8
    http_status = 409
    run_status = "cancelled"


ERRORS: tuple[type[TenantSyncError], ...] = (
    ConfigError,
    StoreError,
    NotFound,
    PermissionDenied,
    SourceError,
    AuthError,
    IncompleteRead,
    DeltaExpired,
    GuardStop,
    RunCancelled,
)
ERROR_TABLE: dict[str, tuple[str | None, int, int]] = {
    cls.__name__: (cls.run_status, cls.exit_code, cls.http_status) for cls in ERRORS
}
"""Per error: the run status it ends a run with, the CLI exit code, the HTTP status."""
