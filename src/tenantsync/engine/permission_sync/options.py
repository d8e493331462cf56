"""Options of a mailbox permission sync definition."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from tenantsync.model.permissions import Right


class PermissionSyncOptions(BaseModel):
    """What a mailbox permission sync reads, how fast, and how often it reconciles fully."""

    model_config = ConfigDict(extra="forbid")

    send_as: bool = Field(default=False, description="also read Send As (Get-RecipientPermission)")
    send_on_behalf: bool = Field(
        default=False, description="also read Send on Behalf (the mailbox's GrantSendOnBehalfTo)"
    )
    concurrency: int = Field(default=4, ge=1, le=64, description="Exchange calls in flight at once")
    rate_limit: float | None = Field(
        default=None,
        gt=0,
        description="Exchange calls per second at most; default: the connection's limit",
    )
    full_reconciliation_hours: float = Field(
        default=24,
        ge=0,
        description="hours between full reads of every mailbox; 0 reads every mailbox each run",
    )
    removal_guard_percent: float = Field(
        default=30,
        ge=0,
        le=100,
        description="share of the task's grants a run may remove without confirmation",
    )
    removal_guard_min: int = Field(
        default=50, ge=0, description="removals up to this many never need confirmation"
    )

    def rights(self) -> frozenset[Right]:
        """The rights this definition reads: Full Access always, the others when turned on."""
        rights = {Right.FULL_ACCESS}
        if self.send_as:
            rights.add(Right.SEND_AS)
        if self.send_on_behalf:
            rights.add(Right.SEND_ON_BEHALF)
        return frozenset(rights)
