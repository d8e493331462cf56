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

The CLI maps these to exit codes and one-line messages; the API maps them to
problem+json responses.
"""

from __future__ import annotations

from typing import Any


class TenantSyncError(Exception):
    """Base of every error tenantsync raises on purpose."""

    exit_code = 1


class ConfigError(TenantSyncError):
    """Configuration is wrong; the message names the field and where it was given."""

    exit_code = 2

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


class SchemaMismatch(StoreError):
    """The schema is not the one this code expects; the message names the fixing command."""


class NotFound(TenantSyncError):
    """A named object does not exist."""

    exit_code = 4


class PermissionDenied(TenantSyncError):
    """The caller's role may not do this."""

    exit_code = 5


class SourceError(TenantSyncError):
    """The source directory answered badly; ``retryable`` says whether trying again may help."""

    exit_code = 6

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


class DeltaExpired(SourceError):
    """The source no longer knows a saved delta link; the caller does a full read instead."""


class GuardStop(TenantSyncError):
    """A plan crossed a safety threshold and waits for an administrator to confirm it."""

    exit_code = 7

    def __init__(self, message: str, *, plan: dict[str, Any] | None = None):
        self.plan = plan
        super().__init__(message)


class RunCancelled(TenantSyncError):
    """The run was cancelled while it was working."""

    exit_code = 8
