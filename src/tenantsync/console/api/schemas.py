"""Request and response shapes of the REST API (pydantic lives here, at the edge only)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from tenantsync.connectors.kind_shapes import AnyKindParams, KindShaped
from tenantsync.console.ops.paging import Page
from tenantsync.store import limits
from tenantsync.store.models import (
    GroupKind,
    Location,
    MailboxKind,
    Right,
    Role,
    RunStatus,
    Trigger,
)
from tenantsync.worker.timing import MAX_INTERVAL_SECONDS

T = TypeVar("T")
MAX_ID = 2_147_483_647
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int, Query(ge=1, le=MAX_ID, description="an object id")]
PageNo = Annotated[int, Query(ge=1, le=100_000, description="1-based page number")]
PerPage = Annotated[int, Query(ge=1, le=200, description="items per page")]
SearchText = Annotated[str, Query(max_length=200, pattern=NO_CONTROL)]
Line = Annotated[str, StringConstraints(max_length=1024, pattern=NO_CONTROL)]
SecretText = Annotated[str, StringConstraints(max_length=20_000)]


def text(limit: int, *, min_length: int = 0) -> StringConstraints:
    """One line of at most ``limit`` characters: a limit of the store (store.limits)."""
    return StringConstraints(min_length=min_length, max_length=limit, pattern=NO_CONTROL)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PageOut(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int
    page: int
    per_page: int

    @classmethod
    def of(cls, page: Page[Any], convert: Any) -> PageOut[T]:
        """The API shape of one page, each item converted by ``convert``."""
        return cls(
            items=[convert(i) for i in page.items],
            total=page.total,
            page=page.page,
            per_page=page.per_page,
        )


class Me(Out):
    email: str
    role: Role
    timezone: str = Field(description="the zone the console shows this account's times in")


class TimezoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timezone: Annotated[str, text(limits.TIMEZONE, min_length=1)]


class OrganizationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, text(limits.ORGANIZATION_NAME, min_length=1)]
    display_name: Annotated[str, text(limits.ORGANIZATION_DISPLAY_NAME)] = ""


class DomainIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, text(limits.DOMAIN_NAME, min_length=1)]


class DomainOut(Out):
    id: int
    name: str


class OrganizationOut(Out):
    id: int
    name: str
    display_name: str
    created_at: datetime
    domains: list[DomainOut]


class PolicyGroupOut(Out):
    id: int
    name: str
    is_default: bool


class MailboxOut(Out):
    id: int
    organization_id: int
    primary_address: str
    display_name: str
    kind: MailboxKind
    location: Location = Field(
        description="where the mailbox lives; remote: it stands for a mailbox on the other side "
        "of a hybrid organization (set by user sync)",
        json_schema_extra={"readOnly": True},
    )
    recipient_type: str | None = Field(
        description="Exchange's exact RecipientTypeDetails, e.g. RemoteSharedMailbox; null "
        "until a read named it (set by user sync)",
        json_schema_extra={"readOnly": True},
    )
    licensed: bool
    enabled: bool
    billable: bool
    non_billable_reason: str | None
    policy_group_id: int | None
    deleted_at: datetime | None
    restore_until: datetime | None
    last_seen: datetime


class GroupOut(Out):
    id: int
    name: str
    mail: str | None
    dn: str | None
    kind: GroupKind


class MailboxDetail(MailboxOut):
    aliases: list[str]
    policy_group: str | None
    groups: list[GroupOut]


class GrantOut(Out):
    id: int
    delegate_id: int
    delegate: str
    right: Right
    origin: str
    source: str
    via_group: str | None
    manual: bool


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delegate: Annotated[str, text(limits.MAILBOX_ADDRESS, min_length=3)]
    right: Right


class ConnectionIn(KindShaped):
    """A connection: its name, its kind (``m365`` when omitted), the kind's parameters (left
    out: the kind's defaults) and its secrets, which are write-only and never returned."""

    secret_type: ClassVar[Any] = SecretText
    secret_schema: ClassVar[dict[str, Any]] = {"writeOnly": True}

    name: Annotated[str, text(limits.CONNECTION_NAME, min_length=1)]


class ConnectionOut(Out):
    id: int
    organization_id: int
    name: str
    kind: str
    params: Annotated[dict[str, Any], AnyKindParams()] = Field(
        description="the kind's parameters, defaults filled in"
    )
    secrets_stored: list[str]
    last_check_at: datetime | None
    last_check_ok: bool | None
    last_check_lines: list[Any] | None


class DefinitionTypeOut(BaseModel):
    name: str
    title: str
    needs_connection: bool
    options_schema: dict[str, Any]


class DefinitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, text(limits.DEFINITION_NAME, min_length=1)]
    type: Annotated[str, text(limits.DEFINITION_TYPE, min_length=1)]
    options: dict[str, Any] = Field(default_factory=dict)


class DefinitionOut(Out):
    id: int
    organization_id: int
    name: str
    type: str
    options: dict[str, Any]


class DefinitionSavedOut(DefinitionOut):
    """A saved definition, with notes on the groups its rules name."""

    notes: list[str] = Field(
        default_factory=list,
        description="what could not be checked yet (no groups synced); the first run checks it",
    )


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, text(limits.SCHEDULE_NAME, min_length=1)]
    interval_seconds: Annotated[int, Field(ge=1, le=MAX_INTERVAL_SECONDS)] | None = None
    cron: Annotated[str, text(limits.CRON)] | None = Field(
        default=None, description="five fields: minute hour day-of-month month day-of-week"
    )
    timezone: Annotated[str, text(limits.TIMEZONE)] = "UTC"
    window_start: time | None = None
    window_end: time | None = None
    weekdays: list[Annotated[str, text(9)]] | None = Field(
        default=None, description="days it may run on (mon..sun) in its time zone; none: every day"
    )


class ScheduleOut(Out):
    id: int
    organization_id: int
    name: str
    interval_seconds: int | None
    cron: str | None
    timezone: str
    window_start: time | None
    window_end: time | None
    weekdays: list[str] | None

    @field_validator("weekdays", mode="before")
    @classmethod
    def _days(cls, value: object) -> object:
        return value.split(",") if isinstance(value, str) else value


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, text(limits.TASK_NAME, min_length=1)]
    definition_id: Annotated[int, Field(ge=1, le=MAX_ID)]
    schedule_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None
    connection_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None
    scope_kind: Annotated[str, StringConstraints(pattern="^(all|group|dn|address)$")] = "all"
    scope_value: Annotated[str, text(limits.SCOPE_VALUE)] | None = None
    enabled: bool = True


class EnabledIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


class TaskOut(Out):
    id: int
    organization_id: int
    name: str
    definition_id: int
    schedule_id: int | None
    connection_id: int | None
    scope_kind: str
    scope_value: str | None
    enabled: bool
    next_due_at: datetime | None


class TaskSavedOut(TaskOut):
    """A saved task, with notes on the group, address or DN its scope names."""

    notes: list[str] = Field(
        default_factory=list,
        description="what could not be checked yet (no groups synced); the first run checks it",
    )


class RunOut(Out):
    id: int
    task_id: int
    trigger: Trigger
    status: RunStatus
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    requested_by: str | None
    confirm_removals: bool
    confirms_run_id: int | None
    counts: dict[str, Any]
    error: str | None


GRANTS_HIDDEN = "grant details are visible to super administrators"


class PlanGroupOut(BaseModel):
    action: str
    count: int
    changes: list[dict[str, Any]]
    hidden: int = Field(
        default=0, description=f"entries of delegate grants not listed: {GRANTS_HIDDEN}"
    )


class RunDetail(RunOut):
    messages: list[Any]
    progress: dict[str, Any] | None
    plan_total: int | None
    plan: list[PlanGroupOut]
    awaits_confirmation: bool
    stop_reason: str | None = Field(
        default=None,
        description="why a run stopped at the removal threshold (or, for a "
        "preview, why a real run would stop)",
    )
    attempt_log: list[Any] = Field(
        default_factory=list, description="earlier attempts that failed transiently"
    )
    grant_details_hidden: bool = Field(
        default=False,
        description=f"messages or plan entries naming delegate grants were left out: "
        f"{GRANTS_HIDDEN}",
    )


class ConfirmIn(BaseModel):
    """The number of removals, typed by the administrator who confirms them."""

    count: int = Field(ge=0, description="how many removals the stopped run asks to confirm")


class ChangeOut(Out):
    id: int
    at: datetime
    actor: str
    entity: str
    key: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class ChangeLogOut(PageOut[ChangeOut]):
    """One page of a run's change log."""

    hidden: int = Field(
        default=0, description=f"changes of delegate grants not listed: {GRANTS_HIDDEN}"
    )


class TaskHealthOut(Out):
    task_id: int
    task: str
    organization: str
    enabled: bool
    last_run_id: int | None
    last_status: str | None
    last_run_at: datetime | None
    next_run_at: datetime | None
    last_failure_at: datetime | None
    last_failure: str | None


class DashboardOut(BaseModel):
    tasks: list[TaskHealthOut]
    mailboxes: dict[str, Any]


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, text(limits.TOKEN_NAME, min_length=1)]
    account: Annotated[str, text(limits.ACCOUNT_EMAIL)] | None = None


class TokenOut(Out):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class IssuedTokenOut(TokenOut):
    token: str = Field(description="the bearer token; shown this once, never again")


class AuditOut(Out):
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    address: str | None
    hidden: bool = Field(
        default=False,
        description=f"target and detail left out (a delegate grant): {GRANTS_HIDDEN}",
    )


class AccountOut(Out):
    id: int
    email: str
    role: Role
    disabled: bool
    created_at: datetime
    last_sign_in_at: datetime | None


class AccountIn(BaseModel):
    """A new console account with its initial password (never returned)."""

    model_config = ConfigDict(extra="forbid")
    email: Annotated[str, text(limits.ACCOUNT_EMAIL, min_length=3)]
    password: Annotated[str, StringConstraints(max_length=1024)] = Field(
        description="the initial password, at least 12 characters; stored as an argon2 hash"
    )
    role: Role = Role.READ_ONLY


class AccountPatch(BaseModel):
    """A role change and/or disabling or enabling; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    disabled: bool | None = None


class PasswordIn(BaseModel):
    """Another account's new password, set by a super administrator (never returned)."""

    model_config = ConfigDict(extra="forbid")
    password: Annotated[str, StringConstraints(max_length=1024)] = Field(
        description="at least 12 characters; stored as an argon2 hash"
    )


class PasswordChangeIn(BaseModel):
    """Your own password change: the current password and the new one (neither is returned)."""

    model_config = ConfigDict(extra="forbid")
    current_password: Annotated[str, StringConstraints(max_length=1024)] = Field(
        description="your current password; a wrong one counts as a failed sign-in"
    )
    new_password: Annotated[str, StringConstraints(max_length=1024)] = Field(
        description="at least 12 characters; stored as an argon2 hash"
    )


class DelegationOut(Out):
    """A delegate grant: on whose mailbox, who holds it, and which task or person granted it."""

    organization: str
    mailbox: str
    delegate: str
    right: Right
    source: str
    origin: str
    via_group: str | None
    granted_at: datetime
