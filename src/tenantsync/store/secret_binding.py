"""A connection's stored secret belongs to the tenant, the app and the endpoints it was stored for.

Changing any of them (tenant id, client id, authority host, Graph URL, Exchange URL, CA file)
would send the stored client secret, or an assertion signed with a stored certificate, to
wherever the new values point: an account allowed to edit a connection could collect the
secret on a host of its choosing by running a health check. So such a change needs the secret
entered again, and what is entered with it replaces everything stored (nothing stored is
carried over to the new endpoints). The console's operations and ``tenantsync apply`` both
check through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.errors import ConfigError
from tenantsync.store.models import Connection

BOUND_PARAMS = ("tenant_id", "client_id", "authority_host", "graph_url", "exchange_url", "ca_file")
SECRET_FIELD = "client_secret"  # noqa: S105 - a field name, not a secret


def moved_params(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The parameters a stored secret is bound to that differ between ``before`` and ``after``."""
    return [k for k in BOUND_PARAMS if (before.get(k) or None) != (after.get(k) or None)]


def require_secret_to_move(
    before: Mapping[str, Any], after: Mapping[str, Any], entered: Mapping[str, str]
) -> list[str]:
    """The bound parameters that change; refused (naming ``client_secret``) when some change
    and no secret was ``entered`` with them."""
    moved = moved_params(before, after)
    if moved and not any(entered.values()):
        raise ConfigError(
            f"changing {', '.join(moved)} needs the credentials again: enter the client secret "
            "again (or the certificate); a stored secret is only sent where it was stored for",
            field=SECRET_FIELD,
        )
    return moved


def check_connection_change(
    session: Session,
    organization_id: int,
    name: str,
    params: Mapping[str, Any],
    entered: Mapping[str, str],
) -> None:
    """Refuse to give the stored connection ``name`` these ``params`` unless a secret was
    ``entered`` with them, when they move it (a new connection is always allowed)."""
    before = session.scalar(
        select(Connection.params).where(
            Connection.organization_id == organization_id, Connection.name == name
        )
    )
    if before is not None:
        require_secret_to_move(before, params, entered)
