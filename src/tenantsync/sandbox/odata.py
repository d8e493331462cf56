"""OData query options, opaque page/delta tokens and page-size rules, declared once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from tenantsync.sandbox.errors import GraphError, bad_request

MAX_TOP = {"directory": 999, "calendar": 1000}
DEFAULT_TOP = {"directory": 100, "calendar": 10}
_MAXPAGE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)
_TZ = re.compile(r'outlook\.timezone\s*=\s*"?([^";]+)"?', re.IGNORECASE)


@dataclass(slots=True)
class Query:
    """The query options and headers of one Graph request."""

    params: dict[str, str]
    select: tuple[str, ...] | None = None
    top: int | None = None
    filter: str | None = None
    count: bool = False
    eventual: bool = False
    max_page_size: int | None = None
    time_zone: str | None = None
    minimal: bool = False
    skiptoken: str | None = None
    deltatoken: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def parse_query(params: Mapping[str, str], headers: Mapping[str, str]) -> Query:
    """Read `$select`, `$top`, `$filter`, `$count`, tokens and the Prefer/ConsistencyLevel
    headers; unknown `$` options are kept in `extra` for the handler to refuse."""
    q = Query(params=dict(params))
    for key, value in params.items():
        name = key.lower()
        if name in ("$select", "select"):
            q.select = tuple(s.strip() for s in value.split(",") if s.strip())
        elif name in ("$top", "top"):
            try:
                q.top = int(value)
            except ValueError:
                raise bad_request(f"Invalid page size specified: '{value}'.") from None
        elif name in ("$filter", "filter"):
            q.filter = value
        elif name in ("$count", "count"):
            q.count = value.lower() == "true"
        elif name == "$skiptoken":
            q.skiptoken = value
        elif name == "$deltatoken":
            q.deltatoken = value
        else:
            q.extra[key] = value
    q.eventual = headers.get("consistencylevel", "").lower() == "eventual"
    prefer = headers.get("prefer", "")
    if m := _MAXPAGE.search(prefer):
        q.max_page_size = int(m.group(1))
    if m := _TZ.search(prefer):
        q.time_zone = m.group(1).strip()
    q.minimal = "return=minimal" in prefer.lower()
    return q


def page_size(q: Query, family: str) -> int:
    """Page size from $top and Prefer: odata.maxpagesize, checked against Graph's maximum."""
    top = q.top
    if top is not None and not 1 <= top <= MAX_TOP[family]:
        raise bad_request(
            f"Invalid page size specified: '{top}'. Must be between 1 and "
            f"{MAX_TOP[family]} inclusive."
        )
    size = top or DEFAULT_TOP[family]
    if q.max_page_size:
        size = min(size, q.max_page_size) if top else min(q.max_page_size, MAX_TOP[family])
    return size


def check_select(select: tuple[str, ...] | None, known: Mapping[str, Any], type_name: str) -> None:
    """400 for a property the resource does not have (as Graph answers)."""
    for name in select or ():
        if name not in known:
            raise bad_request(
                f"Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'."
            )


def link(base: str, path: str, params: Mapping[str, str], **tokens: str) -> str:
    """An absolute nextLink/deltaLink: the original options plus a token."""
    kept = {k: v for k, v in params.items() if k not in ("$skiptoken", "$deltatoken")}
    kept.update({f"${k}": v for k, v in tokens.items()})
    return f"{base}{path}?{urlencode(kept, safe='$,()/:@')}"


class TokenCodec:
    """Opaque, tamper-evident tokens for $skiptoken and $deltatoken."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def encode(self, payload: Mapping[str, Any]) -> str:
        """Serialize and sign a payload."""
        raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        sig = hmac.new(self._key, raw, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(raw + sig).decode().rstrip("=")

    def decode(self, token: str, *, kind: str) -> dict[str, Any]:
        """Check and read a token minted for `kind`; 400 when it is not one of ours."""
        try:
            blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            raw, sig = blob[:-12], blob[-12:]
            good = hmac.compare_digest(sig, hmac.new(self._key, raw, hashlib.sha256).digest()[:12])
            payload = json.loads(raw) if good else None
        except (ValueError, json.JSONDecodeError):
            payload = None
        if not isinstance(payload, dict) or payload.get("k") != kind:
            raise GraphError(
                400,
                "Request_BadRequest",
                "The specified page token value has "
                "expired and can no longer be included in your request.",
            )
        return payload
