"""Exported cmdlet files in every form admins produce: Export-Csv (with and without #TYPE,
UTF-8 with or without BOM, UTF-16), ConvertTo-Json (numeric enums, switch objects, one
object alone, multi-valued cells) and Export-Clixml, read from hand-written fixtures."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import pytest

from tenantsync.connectors.exported.reader import read_file, read_folders
from tenantsync.model.hybrid import Cmdlet, Format, Side
from tenantsync.model.permissions import Right

FIXTURES = Path(__file__).parents[2] / "fixtures" / "exported"
MAILBOXES = (FIXTURES / "onprem" / "mailboxes.csv").read_text(encoding="utf-8")


def encodings(text: str) -> dict[str, bytes]:
    """The encodings PowerShell writes a text file in."""
    return {
        "utf-8": text.encode("utf-8"),
        "utf-8 with BOM": codecs.BOM_UTF8 + text.encode("utf-8"),
        "utf-16 LE with BOM": codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
        "utf-16 LE without BOM": text.encode("utf-16-le"),
        "CRLF line ends": text.replace("\n", "\r\n").encode("utf-8"),
    }


@pytest.mark.parametrize("encoding", list(encodings(MAILBOXES)))
def test_export_csv_reads_the_same_in_every_encoding(encoding: str) -> None:
    data = encodings(MAILBOXES)[encoding]
    read = read_file("mailboxes.csv", data, None, None)
    assert read.summary.cmdlet is Cmdlet.MAILBOX
    assert read.summary.format is Format.CSV
    assert read.summary.side is Side.ON_PREMISES  # identities are canonical names
    assert [r.values["PrimarySmtpAddress"] for r in read.parsed.records] == [
        "adele@contoso.com",
        "info@contoso.com",
        "grady@contoso.com",
        "board@contoso.com",
    ]


def test_export_csv_without_its_type_line_is_told_by_its_columns() -> None:
    text = MAILBOXES.split("\n", 1)[1]
    read = read_file("export.csv", text.encode(), None, None)
    assert read.parsed.type_names == ()
    assert read.summary.cmdlet is Cmdlet.MAILBOX


def test_csv_fields_are_read_as_the_csv_module_reads_them() -> None:
    text = (
        '"Identity","User","AccessRights","IsInherited","Deny"\r\n'
        '"Sales, ""North""","CONTOSO\\amy","FullAccess, ReadPermission","False","False"\r\n'
        '"multi\nline",CONTOSO\\bo,FullAccess,False,False\r\n'
    )
    read = read_file("p.csv", text.encode(), Side.ON_PREMISES, None)
    expected = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r.values for r in read.parsed.records] == expected
    assert [(r.line, r.column) for r in read.parsed.records] == [(2, 1), (3, 1)]
    assert read.parsed.records[1].columns["User"] == 7


def test_convertto_json_numeric_enums_switch_objects_and_one_object_alone() -> None:
    read = read_file(
        "onprem/mailbox-permissions.json",
        (FIXTURES / "onprem" / "mailbox-permissions.json").read_bytes(),
        None,
        None,
    )
    assert read.summary.cmdlet is Cmdlet.MAILBOX_PERMISSION
    assert read.summary.side is Side.ON_PREMISES  # DOMAIN\account trustees
    single = read_file(
        "org.json",
        (FIXTURES / "onprem" / "organization-config.json").read_bytes(),
        None,
        Side.CLOUD,
    )
    assert single.summary.cmdlet is Cmdlet.ORGANIZATION_CONFIG
    assert len(single.parsed.records) == 1


def test_json_recipient_types_written_as_numbers_read_as_names() -> None:
    text = (
        '[{"PrimarySmtpAddress": {"Address": "lee@contoso.com", "Local": "lee"}, '
        '"RecipientTypeDetails": 2147483648, "EmailAddresses": ["SMTP:lee@contoso.com"]}]'
    )
    read = read_file("remote.json", text.encode(), None, None)
    assert read.summary.cmdlet is Cmdlet.REMOTE_MAILBOX
    assert read.summary.side is Side.ON_PREMISES
    assert read.parsed.records[0].values["RecipientTypeDetails"] == "RemoteUserMailbox"
    assert read.parsed.records[0].values["PrimarySmtpAddress"] == "lee@contoso.com"


def test_export_clixml_with_type_references_and_object_references() -> None:
    read = read_file(
        "ad.xml", (FIXTURES / "onprem" / "ad-permissions.xml").read_bytes(), None, None
    )
    assert read.summary.cmdlet is Cmdlet.AD_PERMISSION
    assert read.summary.format is Format.CLIXML
    values = [r.values for r in read.parsed.records]
    assert values[0]["ExtendedRights"] == ["Send-As"]
    assert values[2]["ExtendedRights"] == ["Send-As"]  # a <Ref> to the object before
    assert values[1]["User"] == "CONTOSO\\grady"


def test_clixml_in_utf16_as_export_clixml_writes_it() -> None:
    text = (FIXTURES / "cloud" / "recipients.xml").read_text(encoding="utf-8")
    read = read_file("r.xml", codecs.BOM_UTF16_LE + text.encode("utf-16-le"), None, None)
    assert read.summary.cmdlet is Cmdlet.RECIPIENT
    assert read.summary.side is Side.CLOUD  # Exchange Online's hosted DN
    assert read.parsed.records[0].values["EmailAddresses"] == [
        "SMTP:lee@contoso.com",
        "smtp:lee@contoso.mail.onmicrosoft.com",
    ]


def test_clixml_enum_reads_as_its_name() -> None:
    text = (
        '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
        '<Obj RefId="0"><TN RefId="0"><T>Microsoft.Exchange.Management.RecipientTasks.'
        "MailboxAcePresentationObject</T></TN><Props>"
        '<Obj N="AccessRights" RefId="1"><TN RefId="1"><T>Microsoft.Exchange.Management.'
        "RecipientTasks.MailboxRights</T><T>System.Enum</T><T>System.ValueType</T>"
        "<T>System.Object</T></TN><ToString>FullAccess, ReadPermission</ToString>"
        "<I32>131073</I32></Obj>"
        '<S N="User">CONTOSO\\amy</S><S N="Identity">contoso.com/Users/Info</S>'
        '<B N="Deny">false</B><B N="IsInherited">false</B></Props></Obj></Objs>'
    )
    read = read_file("p.xml", text.encode(), None, None)
    assert read.summary.cmdlet is Cmdlet.MAILBOX_PERMISSION
    assert read.parsed.records[0].values["AccessRights"] == "FullAccess, ReadPermission"


def test_every_fixture_read_into_both_sides() -> None:
    inventory = read_folders([FIXTURES], None)
    onprem, cloud = inventory.side(Side.ON_PREMISES), inventory.side(Side.CLOUD)
    assert {r.address for r in onprem.recipients} == {
        "adele@contoso.com",
        "info@contoso.com",
        "grady@contoso.com",
        "board@contoso.com",
        "lee@contoso.com",
        "sales@contoso.com",
    }
    rights = {(e.mailbox, e.trustee.name, e.right) for e in onprem.entries}
    assert ("contoso.com/Users/Info Desk", "CONTOSO\\adele", Right.FULL_ACCESS) in rights
    assert ("contoso.com/Users/Info Desk", "CONTOSO\\lee", Right.SEND_AS) in rights
    assert ("info@contoso.com", "grady", Right.SEND_ON_BEHALF) in rights
    assert {(f.trustee, f.role, f.flags) for f in onprem.folders} >= {
        ("Lee Gu", "Editor", ("Delegate",))
    }
    assert {(e.mailbox, e.trustee.name, e.right) for e in cloud.entries} >= {
        ("lee", "adele@contoso.com", Right.SEND_AS),
        ("lee", "grady@contoso.com", Right.FULL_ACCESS),
    }
    assert inventory.aclable_sync is False
    assert min(s.version for s in inventory.servers) == (15, 1, 2507)
