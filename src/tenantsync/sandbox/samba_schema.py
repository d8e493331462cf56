"""The Exchange schema attributes an on-premises reader needs, added to a Samba domain's
schema with their real attribute OIDs and link ids (Exchange's own schema extension adds
them to the Mail-Recipient auxiliary class, which users and groups carry).

A fresh Samba schema has ``proxyAddresses`` and ``legacyExchangeDN`` but none of these.
"""

from __future__ import annotations

from dataclasses import dataclass

from ldap3 import MODIFY_ADD, Connection

# DN syntax (2.5.5.1) attributes name the object class of their values: OM "DS-DN".
DN_OM_CLASS = bytes.fromhex("2b0c0287731c00854a")


@dataclass(frozen=True)
class Attribute:
    """One attributeSchema object: display name, CN, OID, syntax, and a link id if linked."""

    name: str
    cn: str
    oid: str
    syntax: str
    om_syntax: int
    single: bool = True
    link_id: int | None = None


EXCHANGE_ATTRIBUTES = (
    Attribute("mailNickname", "ms-Exch-Mail-Nickname", "1.2.840.113556.1.2.447", "2.5.5.12", 64),
    Attribute("targetAddress", "ms-Exch-Target-Address", "1.2.840.113556.1.2.352", "2.5.5.12", 64),
    Attribute("homeMDB", "ms-Exch-Home-MDB", "1.2.840.113556.1.2.44", "2.5.5.1", 127),
    Attribute(
        "publicDelegates",
        "ms-Exch-Public-Delegates",
        "1.2.840.113556.1.2.238",
        "2.5.5.1",
        127,
        single=False,
        link_id=14,
    ),
    Attribute(
        "publicDelegatesBL",
        "ms-Exch-Public-Delegates-BL",
        "1.2.840.113556.1.2.295",
        "2.5.5.1",
        127,
        single=False,
        link_id=15,
    ),
    Attribute(
        "msExchRecipientTypeDetails",
        "ms-Exch-Recipient-Type-Details",
        "1.2.840.113556.1.4.7000.102.50855",
        "2.5.5.16",
        65,
    ),
    Attribute(
        "msExchMailboxSecurityDescriptor",
        "ms-Exch-Mailbox-Security-Descriptor",
        "1.2.840.113556.1.4.7000.102.80",
        "2.5.5.10",
        4,
    ),
    Attribute(
        "msExchMailboxGuid",
        "ms-Exch-Mailbox-Guid",
        "1.2.840.113556.1.4.7000.102.11058",
        "2.5.5.10",
        4,
    ),
)


def extend_schema(conn: Connection, base_dn: str) -> None:
    """Add the Exchange attributes to the schema and allow them on Mail-Recipient."""
    schema = f"CN=Schema,CN=Configuration,{base_dn}"
    for attr in EXCHANGE_ATTRIBUTES:
        values: dict[str, object] = {
            "cn": attr.cn,
            "attributeID": attr.oid,
            "attributeSyntax": attr.syntax,
            "oMSyntax": attr.om_syntax,
            "isSingleValued": "TRUE" if attr.single else "FALSE",
            "lDAPDisplayName": attr.name,
            "adminDisplayName": attr.cn,
            "searchFlags": 1,
        }
        if attr.syntax == "2.5.5.1":
            values["oMObjectClass"] = DN_OM_CLASS
        if attr.link_id is not None:
            values["linkID"] = attr.link_id
        _check(conn, conn.add(f"CN={attr.cn},{schema}", ["top", "attributeSchema"], values))
    _update_now(conn)
    names = [a.name for a in EXCHANGE_ATTRIBUTES]
    changed = conn.modify(f"CN=Mail-Recipient,{schema}", {"mayContain": [(MODIFY_ADD, names)]})
    _check(conn, changed)
    _update_now(conn)


def _update_now(conn: Connection) -> None:
    """Make the schema changes so far usable at once (schemaUpdateNow on the rootDSE)."""
    checked, conn.check_names = conn.check_names, False  # ldap3 refuses the empty DN
    try:
        _check(conn, conn.modify("", {"schemaUpdateNow": [(MODIFY_ADD, ["1"])]}))
    finally:
        conn.check_names = checked


def _check(conn: Connection, ok: bool) -> None:
    if not ok:
        raise RuntimeError(f"schema change refused: {conn.result}")


__all__ = ["EXCHANGE_ATTRIBUTES", "extend_schema"]
