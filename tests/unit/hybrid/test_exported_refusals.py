"""A malformed file is refused with its name, the line and column, and what was expected
there; nothing of a folder with a bad file is imported."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tenantsync.connectors.exported import EXPORTED_FILES, ExportError
from tenantsync.connectors.exported.reader import read_file
from tenantsync.errors import ConfigError
from tenantsync.model.hybrid import Side

FIXTURES = Path(__file__).parents[2] / "fixtures" / "exported"
HEADER = '"Identity","User","AccessRights","IsInherited","Deny"\n'
CLIXML = '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'


def refusal(name: str, text: str | bytes) -> ExportError:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(ExportError) as caught:
        read_file(name, data, Side.ON_PREMISES, None)
    return caught.value


@pytest.mark.parametrize(
    ("name", "text", "line", "column", "expected"),
    [
        (
            "fields.csv",
            HEADER + '"a","b","FullAccess","False","False"\n"a","b","FullAccess","False"\n',
            3,
            22,
            "5 fields as the header has, found 4",
        ),
        ("open.csv", HEADER + '"a","b,"FullAccess\n', 2, 9, "a comma or the end of the line"),
        ("unclosed.csv", HEADER + '"a","b","Full\n', 2, 9, "a closing quote"),
        ("quote.csv", HEADER + 'a,b"c,FullAccess,False,False\n', 2, 4, "no quote inside"),
        (
            "list.csv",
            HEADER + '"a","b","System.Object[]","False","False"\n',
            2,
            9,
            "Export-Csv writes a list's type name",
        ),
        ("deny.csv", HEADER + '"a","b","FullAccess","False","maybe"\n', 2, 30, "True or False"),
        ("header.csv", '"Identity","User","Identity"\n', 1, 19, "each column once"),
        ("what.csv", '"Colour","Size"\n"red","L"\n', 2, 1, "the output of Get-Mailbox"),
        (
            "missing.csv",
            '"RecipientTypeDetails","Alias"\n"UserMailbox","amy"\n',
            2,
            1,
            "property PrimarySmtpAddress",
        ),
        ("syntax.json", '[\n  {"User": "a",\n   "AccessRights": [1],}\n]', 3, 24, "valid JSON"),
        ("scalar.json", "[\n  1\n]", 2, 3, "an object with the cmdlet's properties"),
        ("after.json", '{"ACLableSyncedObjectEnabled": true}\n}', 2, 1, "the end of the file"),
        ("broken.xml", CLIXML + '<Obj RefId="0"><Props></Obj></Objs>', 1, 105, "well-formed XML"),
        (
            "entity.xml",
            '<!DOCTYPE x [<!ENTITY a "aaaa">]>\n' + CLIXML + "</Objs>",
            1,
            13,
            "without a DOCTYPE",
        ),
        (
            "tnref.xml",
            CLIXML + '\n<Obj RefId="0"><TNRef RefId="9"/><Props/></Obj></Objs>',
            2,
            16,
            "a <TNRef> to a <TN> defined before",
        ),
        (
            "bool.xml",
            CLIXML + '\n<Obj RefId="0"><Props><B N="Deny">yes</B></Props></Obj></Objs>',
            2,
            23,
            "true or false in <B>",
        ),
        (
            "element.xml",
            CLIXML + '\n<Obj RefId="0"><Props><Foo N="x"/></Props></Obj></Objs>',
            2,
            23,
            "a CLIXML element, not <Foo>",
        ),
        ("root.xml", "<Objects/>", 1, 1, "<Objs> opening Export-Clixml output"),
        ("latin1.csv", HEADER.encode() + b'"caf\xe9","b","x","False","False"\n', 2, 5, "UTF-8"),
    ],
)
def test_a_malformed_file_is_refused_where_it_goes_wrong(
    name: str, text: str | bytes, line: int, column: int, expected: str
) -> None:
    error = refusal(name, text)
    assert (error.file, error.line, error.column) == (name, line, column), str(error)
    assert expected in error.expected
    assert str(error).startswith(f"{name}, line {line}, column {column}: ")


def test_a_folder_with_one_bad_file_imports_nothing(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES, tmp_path / "files")
    (tmp_path / "files" / "onprem" / "zz-bad.json").write_text('[{"User": ')
    connector = EXPORTED_FILES.open({"folder": str(tmp_path / "files")}, {})
    with pytest.raises(ConfigError) as caught:
        connector.inventory()
    assert "onprem/zz-bad.json, line 1, column" in str(caught.value)
    assert "valid JSON" in str(caught.value)


def test_a_file_whose_side_cannot_be_told_is_refused_without_a_default() -> None:
    text = '"Name","ACLableSyncedObjectEnabled"\n"Contoso","True"\n'
    with pytest.raises(ExportError) as caught:
        read_file("org.csv", text.encode(), None, None)
    assert "a side given for this file" in caught.value.expected
