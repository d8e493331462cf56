"""Permissions in their Active Directory form, parsed with winacl's security descriptor:
Full Access from the ``msExchMailboxSecurityDescriptor`` DACL (Exchange MailboxRights bit
FullAccess), Send As from the extended-right entries of ``nTSecurityDescriptor``.

Allow and deny entries both come out (a deny cancels an allow in the engine); inherited
entries are marked inherited; inherit-only entries apply to children only and say
nothing about the mailbox itself, so they are left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from winacl.dtyp.security_descriptor import SECURITY_DESCRIPTOR

from tenantsync.errors import SourceError

SEND_AS = "ab721a54-1e2f-11d0-9819-00aa0040529b"
FULL_ACCESS = 0x1
CONTROL_ACCESS = 0x100
GENERIC_ALL = 0x10000000
FULL_CONTROL = 0xF01FF
INHERIT_ONLY = 0x08
INHERITED = 0x10
ALLOWED, DENIED, ALLOWED_OBJECT, DENIED_OBJECT = 0, 1, 5, 6


@dataclass(frozen=True, slots=True)
class Ace:
    """One access entry that grants or denies a right on the object itself."""

    sid: str
    deny: bool
    inherited: bool


def _aces(raw: bytes, what: str) -> Iterator[tuple[object, int, int]]:
    """(ace, type, flags) of a descriptor's DACL; SourceError for one that cannot be read."""
    try:
        sd = SECURITY_DESCRIPTOR.from_bytes(bytes(raw))
    except Exception as exc:  # winacl raises whatever its struct parsing meets
        raise SourceError(f"{what} cannot be parsed: {exc}") from None
    for ace in getattr(sd.Dacl, "aces", None) or ():
        flags = int(ace.AceFlags or 0)
        if flags & INHERIT_ONLY:
            continue
        yield ace, int(ace.AceType.value), flags


def full_access(raw: bytes) -> list[Ace]:
    """The Full Access entries of an ``msExchMailboxSecurityDescriptor``."""
    return [
        Ace(str(ace.Sid), kind == DENIED, bool(flags & INHERITED))  # type: ignore[attr-defined]
        for ace, kind, flags in _aces(raw, "msExchMailboxSecurityDescriptor")
        if kind in (ALLOWED, DENIED) and int(ace.Mask) & FULL_ACCESS  # type: ignore[attr-defined]
    ]


def send_as(raw: bytes) -> list[Ace]:
    """The Send As entries of an ``nTSecurityDescriptor``: the Send-As extended right, all
    extended rights (an entry without an object type), or full control."""
    found = []
    for ace, kind, flags in _aces(raw, "nTSecurityDescriptor"):
        mask = int(ace.Mask)  # type: ignore[attr-defined]
        if kind in (ALLOWED_OBJECT, DENIED_OBJECT):
            object_type = getattr(ace, "ObjectType", None)
            applies = mask & CONTROL_ACCESS and (
                object_type is None or str(object_type).lower() == SEND_AS
            )
        elif kind in (ALLOWED, DENIED):
            applies = bool(
                mask & CONTROL_ACCESS or mask & GENERIC_ALL or mask & FULL_CONTROL == FULL_CONTROL
            )
        else:
            applies = False
        if applies:
            deny = kind in (DENIED, DENIED_OBJECT)
            found.append(Ace(str(ace.Sid), deny, bool(flags & INHERITED)))  # type: ignore[attr-defined]
    return found


__all__ = ["SEND_AS", "Ace", "full_access", "send_as"]
