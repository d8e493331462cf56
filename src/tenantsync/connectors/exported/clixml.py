"""``Export-Clixml`` output: PowerShell's CLIXML serialization (``<Objs>`` of ``<Obj>``).

The values are decoded by psrpcore (Jordan Borean's implementation of MS-PSRP's
serialization, which pypsrp's successor builds on): primitives, lists, dictionaries,
references and type names. What psrpcore does not give is where an element was, so the
XML is read here with expat first: every element keeps its line and column, the structure
is checked against the CLIXML grammar (known elements, references to objects and type
names defined before, well-formed primitive values), and a file with a DOCTYPE or entity
declarations is refused outright (no entity is ever expanded).
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any
from xml.parsers import expat

from psrpcore.types import PSCryptoProvider, PSObject, deserialize_clixml

from tenantsync.connectors.exported.records import Parsed, Record
from tenantsync.connectors.exported.text import ExportError

NAMESPACE = "http://schemas.microsoft.com/powershell/2004/04"
PRIMITIVES = {
    "S", "B", "C", "DT", "TS", "By", "SB", "U16", "I16", "U32", "I32", "U64", "I64", "Sg",
    "Db", "D", "BA", "G", "URI", "Version", "XD", "SBK", "SS", "Nil", "PR",
}  # fmt: skip
CONTAINERS = {"LST", "IE", "QUE", "STK", "DCT"}
STRUCTURE = {"Obj", "Ref", "TN", "TNRef", "T", "ToString", "Props", "MS", "En"}
INTEGERS = {"By", "SB", "U16", "I16", "U32", "I32", "U64", "I64"}
_INTEGER = re.compile(r"^-?\d+$")
Positions = dict[int, tuple[int, int]]


class _NoSecrets(PSCryptoProvider):
    """Exported files carry no SecureString a reader could open."""

    def decrypt(self, value: str) -> str:
        raise ValueError("a SecureString cannot be read from an exported file")

    def encrypt(self, value: str) -> str:
        raise ValueError("nothing is encrypted here")

    def register_key(self, key: bytes) -> None:
        """No session key exists for a file."""


def parse_clixml(text: str, name: str) -> Parsed:
    """Every top-level object of an Export-Clixml file, as plain values, with positions."""
    root, positions = _tree(text, name)
    _check(root, positions, name)
    try:
        values = deserialize_clixml(ET.tostring(root, encoding="unicode"), _NoSecrets())
    except Exception as exc:
        line, column = positions[id(root)]
        raise ExportError(name, line, column, f"CLIXML psrpcore can decode ({exc})") from None
    records: list[Record] = []
    for element, value in zip(root, values, strict=True):
        line, column = positions[id(element)]
        if not isinstance(value, PSObject) or not _properties(value):
            raise ExportError(name, line, column, "an <Obj> with the cmdlet's properties")
        names = tuple(_bare_type(t) for t in value.PSObject.type_names)
        props = {k: plain(v) for k, v in _properties(value).items()}
        records.append(Record(line, column, props, type_names=names))
    return Parsed(records, records[0].type_names if records else ())


def _bare_type(name: str) -> str:
    """A type name without the "Deserialized." prefixes remoting and psrpcore add."""
    while name.startswith("Deserialized."):
        name = name.removeprefix("Deserialized.")
    return name


def _properties(value: PSObject) -> dict[str, Any]:
    meta = value.PSObject
    return {
        p.name: p.get_value(value) for p in [*meta.adapted_properties, *meta.extended_properties]
    }


def plain(value: Any) -> Any:
    """A decoded CLIXML value as plain Python: an enum as its name (Exchange's ToString),
    a list as a list, a nested object as what PowerShell shows for it."""
    if value is None or isinstance(value, bool):
        return value
    meta = getattr(value, "PSObject", None)
    to_string = getattr(meta, "to_string", None) if meta is not None else None
    if isinstance(value, dict):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, int):
        enum = meta is not None and any("System.Enum" in t for t in meta.type_names)
        return str(to_string) if enum and to_string else int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, PSObject):
        if to_string:
            return str(to_string)
        return {k: plain(v) for k, v in _properties(value).items()}
    return str(value)


def _tree(text: str, name: str) -> tuple[ET.Element, Positions]:
    """The document as elements without namespace, each with its (line, column)."""
    parser = expat.ParserCreate(encoding="utf-8", namespace_separator=" ")
    positions: Positions = {}
    stack: list[ET.Element] = []
    roots: list[ET.Element] = []
    texts: list[list[str]] = []

    def where() -> tuple[int, int]:
        return parser.CurrentLineNumber, parser.CurrentColumnNumber + 1

    def refuse(_name: str, *_args: Any) -> None:
        line, column = where()
        raise ExportError(name, line, column, "CLIXML without a DOCTYPE or entity declarations")

    def start(tag: str, attrs: dict[str, str]) -> None:
        uri, _, local = tag.rpartition(" ")
        if uri and uri != NAMESPACE:
            line, column = where()
            raise ExportError(
                name, line, column, f"elements of the PowerShell namespace {NAMESPACE}"
            )
        element = ET.Element(local, {k.rpartition(" ")[2]: v for k, v in attrs.items()})
        positions[id(element)] = where()
        if stack:
            stack[-1].append(element)
        else:
            roots.append(element)
        stack.append(element)
        texts.append([])

    def end(_tag: str) -> None:
        element = stack.pop()
        element.text = "".join(texts.pop()) or None

    def chars(data: str) -> None:
        if texts:
            texts[-1].append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(text.encode("utf-8"), True)
    except expat.ExpatError as exc:
        raise ExportError(
            name, exc.lineno, exc.offset + 1, f"well-formed XML ({expat.errors.messages[exc.code]})"
        ) from None
    root = roots[0]
    if root.tag != "Objs":
        line, column = positions[id(root)]
        raise ExportError(name, line, column, "<Objs> opening Export-Clixml output")
    return root, positions


def _check(root: ET.Element, positions: Positions, name: str) -> None:
    """The CLIXML grammar psrpcore relies on, checked with positions."""
    objects: set[str] = set()
    types: set[str] = set()

    def fail(element: ET.Element, expected: str) -> None:
        line, column = positions[id(element)]
        raise ExportError(name, line, column, expected)

    def visit(element: ET.Element) -> None:
        tag = element.tag
        if tag not in PRIMITIVES | CONTAINERS | STRUCTURE:
            fail(element, f"a CLIXML element, not <{tag}>")
        if tag == "Obj":
            ref = element.get("RefId")
            if ref is None:
                fail(element, "a RefId on <Obj>")
            objects.add(str(ref))
        elif tag == "TN":
            ref = element.get("RefId")
            if ref is None:
                fail(element, "a RefId on <TN>")
            types.add(str(ref))
        elif tag == "Ref" and element.get("RefId") not in objects:
            fail(element, f"a <Ref> to an <Obj> defined before (RefId {element.get('RefId')!r})")
        elif tag == "TNRef" and element.get("RefId") not in types:
            fail(element, f"a <TNRef> to a <TN> defined before (RefId {element.get('RefId')!r})")
        elif tag == "B" and (element.text or "").strip().lower() not in ("true", "false"):
            fail(element, f"true or false in <B>, found {element.text!r}")
        elif tag in INTEGERS and not _INTEGER.match((element.text or "").strip()):
            fail(element, f"a whole number in <{tag}>, found {element.text!r}")
        elif tag == "G":
            try:
                uuid.UUID((element.text or "").strip())
            except ValueError:
                fail(element, f"a GUID in <G>, found {element.text!r}")
        for child in element:
            visit(child)

    for child in root:
        if child.tag not in ("Obj", "Ref") and child.tag not in PRIMITIVES:
            fail(child, f"<Obj> objects inside <Objs>, not <{child.tag}>")
        visit(child)
