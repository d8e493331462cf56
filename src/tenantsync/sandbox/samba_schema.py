"""The Exchange schema attributes an on-premises reader needs, added to a Samba domain's
schema with their real attribute OIDs and link ids (Exchange's own schema extension adds
them to the Mail-Recipient auxiliary class, which users and groups carry).

A fresh Samba schema has ``proxyAddresses`` and ``legacyExchangeDN`` but none of these.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenantsync.sandbox.samba import SambaDC
from tenantsync.sandbox.samba_ldb import add_record, ldb_add, ldb_modify, line

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


def extend_schema(dc: SambaDC) -> None:
    """Add the Exchange attributes to the stopped DC's schema, then allow them on
    Mail-Recipient (two transactions: the class change needs the attributes loaded)."""
    schema = f"CN=Schema,CN=Configuration,{dc.base_dn}"
    records = []
    for attr in EXCHANGE_ATTRIBUTES:
        values: dict[str, str | bytes | int] = {
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
        records.append(add_record(f"CN={attr.cn},{schema}", ["top", "attributeSchema"], values))
    ldb_add(dc, records)
    change = [
        line("dn", f"CN=Mail-Recipient,{schema}"),
        "changetype: modify",
        "add: mayContain",
        *(line("mayContain", a.name) for a in EXCHANGE_ATTRIBUTES),
        "-",
    ]
    ldb_modify(dc, ["\n".join(change) + "\n\n"])


__all__ = ["EXCHANGE_ATTRIBUTES", "extend_schema"]
