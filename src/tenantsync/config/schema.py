"""The shape of a configuration file, validated as a whole before anything is written.

Lengths come from the store's columns (store.limits), so a file never carries a value
the database would refuse.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    field_validator,
    model_validator,
)

from tenantsync.connectors.kind_shapes import KindShaped
from tenantsync.store import limits

NAME_PATTERN = r"^[A-Za-z0-9][\w.\- ]*$"
NAME_RULE = "letters, digits, spaces, '.', '_' and '-', starting with a letter or digit"


def _name(limit: int) -> StringConstraints:
    return StringConstraints(min_length=1, max_length=limit, pattern=NAME_PATTERN)


def name_problem(name: str) -> str | None:
    """Why a name could not be written in a configuration file (None: it can)."""
    if re.fullmatch(NAME_PATTERN, name):
        return None
    return f"use {NAME_RULE}, so that a configuration file can name it"


def _text(limit: int) -> StringConstraints:
    return StringConstraints(max_length=limit)


OrganizationName = Annotated[str, _name(limits.ORGANIZATION_NAME)]
ConnectionName = Annotated[str, _name(limits.CONNECTION_NAME)]
DefinitionName = Annotated[str, _name(limits.DEFINITION_NAME)]
ScheduleName = Annotated[str, _name(limits.SCHEDULE_NAME)]
TaskName = Annotated[str, _name(limits.TASK_NAME)]
ScopeValue = Annotated[str, _text(limits.SCOPE_VALUE)]
# A connection stores its references as "client_secret=env:…;certificate=file:…": two of
# this length always fit (a kind with more secrets is checked on the whole, see below).
_SECRET_REF_PART = (limits.SECRET_REF - len("client_secret=file:;certificate=file:")) // 2
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SecretRef(Strict):
    """Where a secret comes from: an environment variable or a file; never inline. Or
    ``{stored: true}``: the secret already stored with the connection in this database is
    kept (what ``export`` writes for a secret entered in the console)."""

    env: Annotated[str, _text(_SECRET_REF_PART)] | None = None
    file: Annotated[str, _text(_SECRET_REF_PART)] | None = None
    stored: Literal[True] | None = None

    @model_validator(mode="after")
    def _one(self) -> SecretRef:
        if [self.env, self.file, self.stored].count(None) != 2:
            raise ValueError("give exactly one of env, file or stored: true")
        return self

    def describe(self) -> str:
        if self.stored:
            return "stored"
        return f"env:{self.env}" if self.env else f"file:{self.file}"

    @classmethod
    def parse(cls, ref: str) -> SecretRef:
        kind, _, value = ref.partition(":")
        return cls(env=value) if kind == "env" else cls(file=value)


class ConnectionSpec(KindShaped):
    """A connection: its name, its kind (``m365`` when not given), the kind's parameters and
    its secrets as references (see connectors.kind_shapes for how the kind shapes it)."""

    secret_type: ClassVar[Any] = SecretRef

    name: ConnectionName

    @model_validator(mode="after")
    def _credential(self) -> ConnectionSpec:
        problem = self.connection_kind.secret_problem(self.secrets())
        if problem is not None:
            raise ValueError(f"{problem[1]} (as {{env: ...}}, {{file: ...}} or {{stored: true}})")
        refs = self.secret_ref()
        if len(refs) > limits.SECRET_REF:
            too_long = limits.longer_than(limits.SECRET_REF, refs)
            raise ValueError(f"secret references, together: {too_long}")
        return self

    def params(self) -> dict[str, Any]:
        """The non-secret parameters stored with the connection, defaults filled in."""
        return self.parameters().model_dump(mode="json")

    def secret_refs(self) -> dict[str, SecretRef]:
        """Where each secret comes from, by key (the stored ones left out)."""
        return {
            k: v for k, v in self.secrets().items() if isinstance(v, SecretRef) and not v.stored
        }

    def stored_secrets(self) -> list[str]:
        """The secrets kept as stored with the connection (``{stored: true}``)."""
        return [k for k, v in self.secrets().items() if isinstance(v, SecretRef) and v.stored]

    def secret_ref(self) -> str:
        """Where the secrets come from, as stored with the connection."""
        return ";".join(f"{k}={r.describe()}" for k, r in self.secret_refs().items())


class DefinitionSpec(Strict):
    name: DefinitionName
    type: Annotated[str, _text(limits.DEFINITION_TYPE)]
    options: dict[str, Any] = Field(default_factory=dict)


class WindowSpec(Strict):
    start: time
    end: time


class ScheduleSpec(Strict):
    name: ScheduleName
    interval: str | int | None = Field(default=None, description="e.g. 60s, 15m, 1h, 1d")
    cron: Annotated[str, _text(limits.CRON)] | None = Field(
        default=None, description="five fields: minute hour day-of-month month day-of-week"
    )
    timezone: Annotated[str, _text(limits.TIMEZONE)] = "UTC"
    window: WindowSpec | None = None
    weekdays: list[Annotated[str, _text(9)]] | None = Field(
        default=None, description="days it may run on (mon..sun) in its time zone; none: every day"
    )

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: str | int | None) -> str | int | None:
        if value is not None:
            interval_seconds(value)
        return value

    @property
    def interval_seconds(self) -> int | None:
        return None if self.interval is None else interval_seconds(self.interval)

    @property
    def weekdays_text(self) -> str | None:
        return None if self.weekdays is None else ",".join(self.weekdays)


def interval_seconds(value: str | int) -> int:
    """Seconds in a duration such as 90, "90s", "15m", "1h", "1d"."""
    if isinstance(value, int):
        return value
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a duration such as 60s, 15m, 1h or 1d")
    return int(match.group(1)) * _UNITS[match.group(2)]


def format_interval(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class ScopeSpec(Strict):
    """Members of one group: picked from the synced list, a full DN, or a group's address."""

    group: ScopeValue | None = None
    dn: ScopeValue | None = None
    address: ScopeValue | None = None

    @model_validator(mode="after")
    def _one(self) -> ScopeSpec:
        given = [v for v in (self.group, self.dn, self.address) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of group, dn or address")
        return self

    def kind_value(self) -> tuple[str, str]:
        for kind in ("group", "dn", "address"):
            value = getattr(self, kind)
            if value is not None:
                return kind, value
        raise AssertionError("validated scope has one form")


# Tags of tagged unions: parts of an error's location that are not keys of the file.
UNION_TAGS = frozenset({"scope:all", "scope:group"})


def _scope_form(value: Any) -> str:
    return "scope:all" if isinstance(value, str) else "scope:group"


# Tagged, so a mapping is checked as a ScopeSpec only and its errors name its own fields.
Scope = Annotated[
    Annotated[Literal["all"], Tag("scope:all")] | Annotated[ScopeSpec, Tag("scope:group")],
    Discriminator(_scope_form),
]


class TaskSpec(Strict):
    name: TaskName
    definition: str
    schedule: str | None = None
    connection: str | None = None
    scope: Scope = "all"
    enabled: bool = True


def _domain_name(value: str) -> str:
    domain = value.strip().lower()
    if len(domain) > limits.DOMAIN_NAME:  # checked first: it also bounds the pattern's work
        raise ValueError(limits.longer_than(limits.DOMAIN_NAME, domain))
    if not re.fullmatch(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", domain):
        raise ValueError(f"{value!r} is not a domain name")
    return domain


DomainName = Annotated[str, AfterValidator(_domain_name)]


class OrganizationSpec(Strict):
    name: OrganizationName
    display_name: Annotated[str, _text(limits.ORGANIZATION_DISPLAY_NAME)] = ""
    domains: list[DomainName] = Field(default_factory=list)
    connections: list[ConnectionSpec] = Field(default_factory=list)
    definitions: list[DefinitionSpec] = Field(default_factory=list)
    schedules: list[ScheduleSpec] = Field(default_factory=list)
    tasks: list[TaskSpec] = Field(default_factory=list)


class Document(Strict):
    """A whole configuration file."""

    organizations: list[OrganizationSpec]
