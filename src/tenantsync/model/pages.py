"""Pages connectors yield: entities plus what a delta read says was removed."""

from __future__ import annotations

from dataclasses import dataclass, field

from tenantsync.model.directory import DirectoryGroup, DirectoryUser, MemberRef

Unreadable = tuple[tuple[str, str], ...]
"""(source id, reason) of objects a page named but that could not be read whole."""


@dataclass(frozen=True, slots=True)
class DeltaPage:
    """One page of users from a delta read; ``delta_link`` is set on the last page only.

    ``unreadable`` objects changed but could not be read whole: they must be left as
    they are and read again, never taken as removed.
    """

    users: tuple[DirectoryUser, ...] = ()
    removed: tuple[str, ...] = ()
    delta_link: str | None = None
    unreadable: Unreadable = ()


@dataclass(frozen=True, slots=True)
class MembershipChange:
    """Direct members a delta read added to or removed from one group."""

    group_id: str
    added: tuple[MemberRef, ...] = ()
    removed: tuple[MemberRef, ...] = ()


@dataclass(frozen=True, slots=True)
class GroupDeltaPage:
    """One page of groups from a delta read, with their membership changes."""

    groups: tuple[DirectoryGroup, ...] = ()
    removed: tuple[str, ...] = ()
    members: tuple[MembershipChange, ...] = field(default=())
    delta_link: str | None = None
    unreadable: Unreadable = ()
