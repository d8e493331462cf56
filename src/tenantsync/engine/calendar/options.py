"""Options of a calendar replication definition."""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class CalendarOptions(BaseModel):
    """Which calendars, how far back and ahead, what of private items, bodies, attendees
    and attachments is replicated, how fast, and how often each mailbox is read whole."""

    model_config = ConfigDict(extra="forbid")

    calendars: Literal["default", "all"] = Field(
        default="default", description="the primary calendar only, or every calendar"
    )
    days_back: int = Field(default=90, ge=0, le=3650, description="days before today")
    days_ahead: int = Field(default=365, ge=1, le=3650, description="days after today")
    private: Literal["busy", "skip", "full"] = Field(
        default="busy",
        description=(
            "private items: busy (replicated; subject, location, body and attendees shown "
            "only to the owner and delegates allowed to see private items), skip (not "
            "replicated) or full (shown like any other)"
        ),
    )
    body: bool = Field(default=False, description="replicate event bodies")
    attendees: bool = Field(default=True, description="replicate attendees")
    attachment_content: bool = Field(
        default=False, description="replicate attachment contents (names and sizes always)"
    )
    attachment_cap_mb: float = Field(
        default=25, ge=0, le=10_000, description="attachment content kept per mailbox, in MB"
    )
    full_reconciliation_hours: float = Field(
        default=24,
        ge=0,
        description="hours between whole reads of each mailbox's window (0: every run)",
    )
    concurrency: int = Field(default=8, ge=1, le=256, description="mailboxes read at once")
    page_size: int = Field(default=100, ge=10, le=1000, description="events per page asked")
    rate_limit: float | None = Field(
        default=None, gt=0, description="Graph calls per second at most; default: the connection's"
    )
    removal_guard_percent: float = Field(
        default=50,
        ge=0,
        le=100,
        description="share of the task's replicas a run may remove without confirmation",
    )
    removal_guard_min: int = Field(
        default=1000, ge=0, description="removals up to this many never need confirmation"
    )

    def shape_key(self) -> str:
        """A digest of the options that decide what a replica holds: a mailbox replicated
        under other ones is read whole again."""
        shape = self.model_dump(
            include={
                "calendars",
                "days_back",
                "days_ahead",
                "private",
                "body",
                "attendees",
                "attachment_content",
                "attachment_cap_mb",
            }
        )
        return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def attachment_cap(self) -> int:
        """The per-mailbox cap on attachment contents, in bytes."""
        return int(self.attachment_cap_mb * 1024 * 1024)
