"""The DirSync control's bytes: flags as a signed 4-byte INTEGER (Active Directory rejects
ldap3's 5-byte encoding of 0x80000800), then MaxBytes and the cookie."""

from __future__ import annotations

from ldap3.protocol.microsoft import dir_sync_control

from tenantsync.connectors.onprem.ldap import ANCESTORS_FIRST, INCREMENTAL_VALUES, dirsync_control


def value_bytes(cookie: bytes | None, flags: int) -> bytes:
    return bytes(dirsync_control(cookie, flags)["controlValue"])


def test_incremental_values_flags_are_four_signed_bytes() -> None:
    raw = value_bytes(None, ANCESTORS_FIRST | INCREMENTAL_VALUES)
    assert raw.hex() == "300e02048000080002047fffffff0400"


def test_flags_without_the_high_bit_and_a_cookie() -> None:
    raw = value_bytes(b"\x01\x02", ANCESTORS_FIRST)
    assert raw.hex() == "300e0202080002047fffffff04020102"


def test_the_control_is_critical_and_named() -> None:
    control = dirsync_control(None)
    assert str(control["controlType"]) == "1.2.840.113556.1.4.841"
    assert bool(control["criticality"]) is True


def test_ldap3s_own_builder_sends_the_five_byte_form_we_avoid() -> None:
    theirs = dir_sync_control(True, False, True, False, True, 0x7FFFFFFF, None)
    assert "02050080000800" in bytes(theirs["controlValue"]).hex()
