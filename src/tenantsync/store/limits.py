"""How long a text each column of the store holds, read from the tables themselves.

The one source of length limits: the API schemas, the console forms and ``tenantsync
apply`` all check against these, so a value too long for PostgreSQL is refused with its
field named before anything is written (SQLite does not enforce lengths, PostgreSQL does).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import InstrumentedAttribute

from tenantsync.store.models import (
    ApiToken,
    Base,
    Connection,
    ConsoleAccount,
    Definition,
    Domain,
    Mailbox,
    Organization,
    PolicyGroup,
    Schedule,
    ScheduledTask,
    SourceGroup,
)


def length_of(column: InstrumentedAttribute[Any]) -> int:
    """The declared length of a string column."""
    column_type = column.expression.type
    if not isinstance(column_type, String) or column_type.length is None:
        raise TypeError(f"{column} is not a string column with a length")
    return column_type.length


ORGANIZATION_NAME = length_of(Organization.name)
ORGANIZATION_DISPLAY_NAME = length_of(Organization.display_name)
DOMAIN_NAME = length_of(Domain.name)
CONNECTION_NAME = length_of(Connection.name)
SECRET_REF = length_of(Connection.secret_ref)
DEFINITION_NAME = length_of(Definition.name)
DEFINITION_TYPE = length_of(Definition.type)
SCHEDULE_NAME = length_of(Schedule.name)
CRON = length_of(Schedule.cron)
TIMEZONE = length_of(Schedule.timezone)
TASK_NAME = length_of(ScheduledTask.name)
SCOPE_VALUE = length_of(ScheduledTask.scope_value)
ACCOUNT_EMAIL = length_of(ConsoleAccount.email)
TOKEN_NAME = length_of(ApiToken.name)
POLICY_GROUP_NAME = length_of(PolicyGroup.name)
GROUP_NAME = length_of(SourceGroup.name)
MAILBOX_ADDRESS = length_of(Mailbox.primary_address)


def too_long(model: type[Base], **values: str | None) -> dict[str, str]:
    """A message per field whose value is longer than its column of ``model`` holds."""
    columns = model.__table__.columns
    errors: dict[str, str] = {}
    for field, value in values.items():
        column_type = columns[field].type
        limit = column_type.length if isinstance(column_type, String) else None
        if value is not None and limit is not None and len(value) > limit:
            errors[field] = longer_than(limit, value)
    return errors


def longer_than(limit: int, value: str) -> str:
    """The message for a value over its limit."""
    return f"at most {limit} characters (this one has {len(value)})"
