"""Permissions in their Active Directory form: Full Access from the
``msExchMailboxSecurityDescriptor`` DACL (Exchange MailboxRights bit FullAccess), Send As
from the extended-right entries of ``nTSecurityDescriptor``.

The DACL is walked entry by entry over its headers (MS-DTYP 2.4.4: type, flags, size, mask
and, for object entries, the object type), and only the entries that grant or deny the
right asked for have their SID decoded: a user's ``nTSecurityDescriptor`` holds some forty
entries, of which a handful speak of Send As, and decoding each one as an object was most
of the time a 20,000-mailbox permission read took. Descriptors repeat (the mailboxes of an
OU that grant nothing of their own carry the same DACL, inherited entries and SELF), so
each reading is remembered by the descriptor's bytes, a few thousand of them at most.

Allow and deny entries both come out (a deny cancels an allow in the engine); inherited
entries are marked inherited; inherit-only entries apply to children only and say
nothing about the mailbox itself, so they are left out.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from tenantsync.connectors.onprem.entries import sid_of
from tenantsync.errors import SourceError

SEND_AS = "ab721a54-1e2f-11d0-9819-00aa0040529b"
SEND_AS_BYTES = uuid.UUID(SEND_AS).bytes_le
REMEMBERED = 4096
FULL_ACCESS = 0x1
CONTROL_ACCESS = 0x100
GENERIC_ALL = 0x10000000
FULL_CONTROL = 0xF01FF
INHERIT_ONLY = 0x08
INHERITED = 0x10
ALLOWED, DENIED, ALLOWED_OBJECT, DENIED_OBJECT = 0, 1, 5, 6
OBJECT_TYPE_PRESENT, INHERITED_OBJECT_TYPE_PRESENT = 0x1, 0x2


@dataclass(frozen=True, slots=True)
class Ace:
    """One access entry that grants or denies a right on the object itself."""

    sid: str
    deny: bool
    inherited: bool


def _aces(raw: bytes, what: str) -> Iterator[tuple[int, int, int, bytes | None, bytes]]:
    """(type, flags, mask, object type, SID bytes) of each DACL entry that applies to the
    object itself; SourceError for a descriptor that cannot be read."""
    data = bytes(raw)
    try:
        (dacl_at,) = struct.unpack_from("<I", data, 16)
        if not dacl_at:
            return
        _revision, _sbz, _size, count = struct.unpack_from("<BBHH", data, dacl_at)
        at = dacl_at + 8
        for _ in range(count):
            kind, flags, size, mask = struct.unpack_from("<BBHI", data, at)
            if size < 8 or at + size > len(data):
                raise ValueError(f"an entry of {size} bytes at offset {at}")
            body, object_type = at + 8, None
            if kind in (ALLOWED_OBJECT, DENIED_OBJECT):
                (present,) = struct.unpack_from("<I", data, body)
                body += 4
                if present & OBJECT_TYPE_PRESENT:
                    object_type = data[body : body + 16]
                    body += 16
                if present & INHERITED_OBJECT_TYPE_PRESENT:
                    body += 16
            if not flags & INHERIT_ONLY:
                yield kind, flags, mask, object_type, data[body : at + size]
            at += size
    except (struct.error, ValueError) as exc:
        raise SourceError(f"{what} cannot be parsed: {exc}") from None


def _sid(raw: bytes, what: str) -> str:
    """An entry's SID (revision 1, its sub-authorities all there) as ``S-1-…``."""
    if len(raw) < 8 or raw[0] != 1 or len(raw) < 8 + 4 * raw[1]:
        shown = raw[:12].hex() or "nothing"
        raise SourceError(f"{what} has an entry whose SID cannot be parsed: {shown}")
    return sid_of(raw[: 8 + 4 * raw[1]])


@lru_cache(maxsize=REMEMBERED)
def full_access(raw: bytes) -> tuple[Ace, ...]:
    """The Full Access entries of an ``msExchMailboxSecurityDescriptor``."""
    what = "msExchMailboxSecurityDescriptor"
    return tuple(
        Ace(_sid(sid, what), kind == DENIED, bool(flags & INHERITED))
        for kind, flags, mask, _type, sid in _aces(raw, what)
        if kind in (ALLOWED, DENIED) and mask & FULL_ACCESS
    )


@lru_cache(maxsize=REMEMBERED)
def send_as(raw: bytes) -> tuple[Ace, ...]:
    """The Send As entries of an ``nTSecurityDescriptor``: the Send-As extended right, all
    extended rights (an entry without an object type), or full control."""
    what = "nTSecurityDescriptor"
    found = []
    for kind, flags, mask, object_type, sid in _aces(raw, what):
        if kind in (ALLOWED_OBJECT, DENIED_OBJECT):
            applies = bool(mask & CONTROL_ACCESS) and object_type in (None, SEND_AS_BYTES)
        elif kind in (ALLOWED, DENIED):
            applies = bool(
                mask & CONTROL_ACCESS or mask & GENERIC_ALL or mask & FULL_CONTROL == FULL_CONTROL
            )
        else:
            applies = False
        if applies:
            deny = kind in (DENIED, DENIED_OBJECT)
            found.append(Ace(_sid(sid, what), deny, bool(flags & INHERITED)))
    return tuple(found)


__all__ = ["SEND_AS", "Ace", "full_access", "send_as"]
