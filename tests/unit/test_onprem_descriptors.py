"""Full Access and Send As as the on-premises connector reads them from descriptors that
winacl writes from SDDL, the form an administrator (and ``dsacls``) speaks."""

from __future__ import annotations

import pytest
from winacl.dtyp.security_descriptor import SECURITY_DESCRIPTOR

from tenantsync.connectors.onprem.security import SEND_AS, Ace, full_access, send_as
from tenantsync.errors import SourceError

DOMAIN = "S-1-5-21-1004336348-1177238915-682003330"
ALICE = f"{DOMAIN}-1105"
BOB = f"{DOMAIN}-1106"
CAROL = f"{DOMAIN}-1107"
OTHER_RIGHT = "bf967a7f-0de6-11d0-a285-00aa003049e2"  # an extended right that is not Send As


def descriptor(*aces: str, dacl_only: bool = False) -> bytes:
    """A self-relative descriptor holding ``aces`` in its DACL."""
    head = "" if dacl_only else "O:DAG:DA"
    sddl = head + "D:" + "".join(aces)
    return bytes(SECURITY_DESCRIPTOR.from_sddl(sddl, domain_sid=DOMAIN).to_bytes())


def test_full_access_is_the_mailbox_right_bit_allowed_or_denied() -> None:
    raw = descriptor(
        f"(A;;CC;;;{ALICE})",  # FullAccess is bit 0x1 (CC in SDDL)
        f"(D;;CC;;;{BOB})",
        f"(A;;RC;;;{CAROL})",  # read permissions only: no Full Access
        "(A;;CC;;;PS)",  # SELF
    )
    assert full_access(raw) == (
        Ace(ALICE, deny=False, inherited=False),
        Ace(BOB, deny=True, inherited=False),
        Ace("S-1-5-10", deny=False, inherited=False),
    )


def test_inherited_entries_are_marked_and_inherit_only_ones_left_out() -> None:
    raw = descriptor(f"(A;ID;CC;;;{ALICE})", f"(A;CIIO;CC;;;{BOB})", f"(A;CI;CC;;;{CAROL})")
    assert full_access(raw) == (
        Ace(ALICE, deny=False, inherited=True),
        Ace(CAROL, deny=False, inherited=False),
    )


def test_send_as_is_the_extended_right_all_extended_rights_or_full_control() -> None:
    raw = descriptor(
        f"(OA;;CR;{SEND_AS};;{ALICE})",
        f"(OA;;CR;{OTHER_RIGHT};;{BOB})",  # another extended right: not Send As
        f"(A;;CR;;;{CAROL})",  # every extended right
        "(A;;GA;;;DA)",  # generic all
        "(A;;RP;;;AU)",  # read properties: nothing to do with sending
        f"(OD;;CR;{SEND_AS};;{BOB})",
        dacl_only=True,
    )
    assert send_as(raw) == (
        Ace(ALICE, deny=False, inherited=False),
        Ace(CAROL, deny=False, inherited=False),
        Ace(f"{DOMAIN}-512", deny=False, inherited=False),
        Ace(BOB, deny=True, inherited=False),
    )


def test_a_descriptor_without_a_dacl_grants_nothing() -> None:
    raw = bytearray(descriptor(f"(A;;CC;;;{ALICE})"))
    raw[16:20] = bytes(4)  # the DACL's offset: none (MS-DTYP 2.4.6)
    assert full_access(bytes(raw)) == ()
    assert send_as(bytes(raw)) == ()


def test_the_same_descriptor_read_twice_reads_the_same() -> None:
    raw = descriptor(f"(A;;CC;;;{ALICE})")
    assert full_access(raw) == full_access(bytes(bytearray(raw)))


@pytest.mark.parametrize(
    ("cut", "named"),
    [(60, "cannot be parsed"), (-2, "cannot be parsed")],
)
def test_a_cut_descriptor_is_an_error_naming_the_attribute(cut: int, named: str) -> None:
    raw = descriptor(f"(A;;CC;;;{ALICE})", f"(A;;CC;;;{BOB})")
    with pytest.raises(SourceError, match=f"msExchMailboxSecurityDescriptor.*{named}"):
        full_access(raw[:cut])


def test_an_entry_whose_sid_is_short_of_its_sub_authorities_is_an_error() -> None:
    raw = bytearray(descriptor(f"(A;;CC;;;{ALICE})", dacl_only=True))
    sid_at = raw.index(bytes([1, 5, 0, 0, 0, 0, 0, 5]))  # S-1-5-21-… with five sub-authorities
    raw[sid_at + 1] = 9  # says nine: the entry ends before them
    with pytest.raises(SourceError, match="SID cannot be parsed"):
        full_access(bytes(raw))
