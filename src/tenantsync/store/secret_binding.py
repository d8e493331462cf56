"""A connection's stored secret belongs to the kind, the tenant, the app and the endpoints it
was stored for.

Changing any of them (for Microsoft 365: tenant id, client id, authority host, Graph URL,
Exchange URL, CA file) would send the stored client secret, or an assertion signed with a
stored certificate, to wherever the new values point: an account allowed to edit a
connection could collect the secret on a host of its choosing by running a health check.
So such a change needs the secret entered again, and what is entered with it replaces
everything stored (nothing stored is carried over to the new endpoints). The console's
operations and ``tenantsync apply`` both check through here.

Which parameters a secret is bound to is the connection kind's declaration
(``endpoint_fields``, narrowed per secret by its ``bound_to``: an on-premises connection's
bind password goes to the DC, its Management Shell password to the Exchange server, so
moving the Shell's URL asks for the Shell's password and keeps the bind password). The
store does not know kinds, so callers hand the kind in, read here through
:class:`BoundKind`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.errors import ConfigError
from tenantsync.store.models import Connection


class NamedSecret(Protocol):
    """A secret a kind takes: its key and a lower-case noun naming it."""

    @property
    def name(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def bound_to(self) -> tuple[str, ...]: ...


class BoundKind(Protocol):
    """What a connection kind declares about its secret."""

    @property
    def name(self) -> str: ...

    @property
    def endpoint_fields(self) -> tuple[str, ...]: ...

    @property
    def secret_fields(self) -> Sequence[NamedSecret]: ...


def moved_params(
    kind: BoundKind, before: Mapping[str, Any], after: Mapping[str, Any], *, before_kind: str
) -> list[str]:
    """What a stored secret is bound to that differs between ``before`` (of a connection of
    ``before_kind``) and ``after`` (of ``kind``): the kind itself, or endpoint parameters."""
    if before_kind != kind.name:
        return ["kind"]
    return [k for k in kind.endpoint_fields if (before.get(k) or None) != (after.get(k) or None)]


def moved_secrets(kind: BoundKind, moved: Sequence[str]) -> list[NamedSecret]:
    """The kind's secrets a change of ``moved`` would send elsewhere (all, for the kind)."""
    if not moved:
        return []
    if "kind" in moved:
        return list(kind.secret_fields)
    return [s for s in kind.secret_fields if set(s.bound_to or kind.endpoint_fields) & set(moved)]


def kept_secrets(
    kind: BoundKind, moved: Sequence[str], stored: Mapping[str, str]
) -> dict[str, str]:
    """What of ``stored`` stays stored through a change of ``moved``: the secrets it does
    not send anywhere new."""
    gone = {s.name for s in moved_secrets(kind, moved)}
    return {k: v for k, v in stored.items() if k not in gone}


def require_secret_again(kind: BoundKind, moved: Sequence[str], entered: Mapping[str, str]) -> None:
    """Refuse (naming the first secret it concerns) a change of ``moved`` without one of the
    secrets it would send elsewhere ``entered`` with it; a kind that takes no secret has
    nothing stored to protect."""
    concerned = moved_secrets(kind, moved)
    if not concerned or any(entered.get(s.name) for s in concerned):
        return
    first, *others = concerned
    alternatives = "".join(f" (or the {s.title})" for s in others)
    raise ConfigError(
        f"changing {', '.join(moved)} needs the credentials again: enter the {first.title} "
        f"again{alternatives}; a stored secret is only sent where it was stored for",
        field=first.name,
    )


def check_connection_change(
    session: Session,
    organization_id: int,
    name: str,
    kind: BoundKind,
    params: Mapping[str, Any],
    entered: Mapping[str, str],
) -> None:
    """Refuse to make the stored connection ``name`` one of ``kind`` with these ``params``
    unless a secret was ``entered`` with them, when that moves it (a new one is allowed)."""
    before = session.execute(
        select(Connection.kind, Connection.params).where(
            Connection.organization_id == organization_id, Connection.name == name
        )
    ).first()
    if before is not None:
        moved = moved_params(kind, before.params, params, before_kind=before.kind)
        require_secret_again(kind, moved, entered)
