"""An Active Directory object's canonical name, the way Exchange's cmdlets show an object
reference (``corp.example/Staff/Smith, John``): the domain's DNS name, then each
container from the top down, then the object's own name. A name's forward slashes are
escaped with a backslash; the DN's own escapes are undone."""

from __future__ import annotations

from ldap3.core.exceptions import LDAPInvalidDnError
from ldap3.utils.dn import parse_dn

HEX = "0123456789abcdefABCDEF"


def canonical_name(dn: str) -> str | None:
    """``CN=Smith\\, John,OU=Staff,DC=corp,DC=example`` → ``corp.example/Staff/Smith, John``;
    None for text that is not a DN with domain components."""
    try:
        parts = parse_dn(dn.strip())
    except LDAPInvalidDnError:
        return None
    domain = [value for attr, value, _sep in parts if attr.upper() == "DC"]
    path = [value for attr, value, _sep in parts if attr.upper() != "DC"]
    if not domain:
        return None
    names = [_unescape(v).replace("/", "\\/") for v in reversed(path)]
    return "/".join([".".join(_unescape(d) for d in domain), *names])


def _unescape(value: str) -> str:
    """A DN attribute value without its escapes (``\\,`` and ``\\2C`` alike, UTF-8 pairs)."""
    out = bytearray()
    i = 0
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value):
            pair = value[i + 1 : i + 3]
            if len(pair) == 2 and all(c in HEX for c in pair):
                out.append(int(pair, 16))
                i += 3
                continue
            out += value[i + 1].encode()
            i += 2
            continue
        out += char.encode()
        i += 1
    return out.decode("utf-8", errors="replace")


__all__ = ["canonical_name"]
