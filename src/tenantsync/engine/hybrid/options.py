"""Options of the two hybrid definition types: the cross-premises report and the migration
batches. Both read the same two sides; the batches add caps, weights and service accounts."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SourceOptions(BaseModel):
    """Where each side comes from, and what the organization's Entra Connect does."""

    model_config = ConfigDict(extra="forbid")

    cloud_connection: str | None = Field(
        default=None,
        max_length=120,
        description="the Microsoft 365 connection whose synced mailboxes and permission-sync "
        "reads are the cloud side (by name); empty: every one of the organization",
    )
    read_store: bool = Field(
        default=True,
        description="take the cloud side from what user sync and permission sync stored "
        "(off: from cloud-side exported files only)",
    )
    entra_connect_version: str | None = Field(
        default=None,
        max_length=40,
        pattern=r"^\d+(\.\d+){1,3}$",
        description="the Microsoft Entra Connect version (e.g. 2.3.20.0); empty: not known",
    )
    entra_connect_exchange_hybrid: Literal["unknown", "on", "off"] = Field(
        default="unknown",
        description="whether Entra Connect runs with the Exchange hybrid deployment option",
    )

    @property
    def exchange_hybrid(self) -> bool | None:
        """The Exchange hybrid option: on, off, or not known (None)."""
        return {"on": True, "off": False}.get(self.entra_connect_exchange_hybrid)

    assume_automapping: bool = Field(
        default=True,
        description="Full Access given to a person (not a group) counts as auto-mapped when "
        "the files do not say (Add-MailboxPermission's default)",
    )


class HybridReportOptions(SourceOptions):
    """Options of a cross-premises report."""


class Weights(BaseModel):
    """What breaking one grant costs, by right (whole numbers, at least 1)."""

    model_config = ConfigDict(extra="forbid")

    send_as: int = Field(default=10, ge=1, le=1000)
    folder: int = Field(default=8, ge=1, le=1000)
    automapping: int = Field(default=6, ge=1, le=1000)
    full_access: int = Field(default=3, ge=1, le=1000)
    send_on_behalf: int = Field(default=2, ge=1, le=1000)


class MigrationBatchesOptions(SourceOptions):
    """Options of a migration batch plan."""

    max_batch_size: int = Field(
        default=300,
        ge=2,
        le=100_000,
        description="mailboxes in a batch at most; always honoured",
    )
    completion_group_size: int | None = Field(
        default=None,
        ge=2,
        le=100_000,
        description="mailboxes completed together at most (the cap that binds at "
        "completion); empty: a batch completes as one",
    )
    weights: Weights | None = Field(
        default=None,
        description="what breaking a grant costs, by right: send_as 10, folder 8, "
        "automapping 6, full_access 3, send_on_behalf 2 unless given",
    )
    service_account_min_mailboxes: int = Field(
        default=200,
        ge=2,
        description="a trustee with rights on more mailboxes than this is a service account",
    )
    service_account_share: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="... or on more than this share of the mailboxes",
    )
    exclude_detected_service_accounts: bool = Field(
        default=True, description="leave the service accounts found out of the plan"
    )
    service_accounts: list[str] = Field(
        default_factory=list, description="trustees always left out of the plan (addresses)"
    )
    not_service_accounts: list[str] = Field(
        default_factory=list, description="trustees never taken for service accounts"
    )
    replan: bool = Field(
        default=False,
        description="plan afresh, ignoring the batches of the task's last run",
    )
    batch_prefix: str = Field(
        default="batch", min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$"
    )

    @model_validator(mode="after")
    def _completion_within_batch(self) -> MigrationBatchesOptions:
        if (
            self.completion_group_size is not None
            and self.completion_group_size > self.max_batch_size
        ):
            raise ValueError("completion_group_size must not exceed max_batch_size")
        return self

    @property
    def costs(self) -> Weights:
        """The weights given, or the defaults."""
        return self.weights or Weights()

    @property
    def unit_cap(self) -> int:
        """The cap of what completes together: completion groups, else whole batches."""
        return self.completion_group_size or self.max_batch_size
