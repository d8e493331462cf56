"""Issues and checks the sandbox's bearer tokens (JWT, HS256, Entra-shaped claims)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GRAPH_AUDIENCE = "https://graph.microsoft.com"
EXCHANGE_AUDIENCE = "https://outlook.office365.com"
EXCHANGE_APP_ROLE = "Exchange.ManageAsApp"
# Entra directory role template ids the Exchange admin API accepts for app-only calls.
DIRECTORY_ROLES = {
    "Global Reader": "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
    "Exchange Administrator": "29232cdf-9323-42fd-ade2-1d097af3e4de",
    "Exchange Recipient Administrator": "31392ffb-586c-42d1-9346-e59415a2cc4e",
    "Global Administrator": "62e90394-69f5-4237-9190-012177145e10",
}
RESOURCES = {
    "https://graph.microsoft.com": GRAPH_AUDIENCE,
    "https://outlook.office365.com": EXCHANGE_AUDIENCE,
    "https://outlook.office.com": EXCHANGE_AUDIENCE,
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a checked token says."""

    tenant_id: str
    client_id: str
    audience: str
    roles: tuple[str, ...]
    wids: tuple[str, ...]
    expires: int


class TokenInvalid(Exception):
    """A token is missing, malformed, not ours, or expired; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TokenAuthority:
    """Signs tokens and checks them, for every tenant the app serves."""

    def __init__(self, key: bytes | None = None, *, lifetime: int = 3599) -> None:
        self.key = key or secrets.token_bytes(32)
        self.lifetime = lifetime

    def issue(
        self,
        *,
        tenant_id: str,
        client_id: str,
        audience: str,
        roles: list[str],
        wids: list[str],
        now: datetime,
        issuer_host: str,
    ) -> tuple[str, int]:
        """A signed token and its lifetime in seconds."""
        iat = int(now.timestamp())
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "iat": iat,
            "nbf": iat,
            "exp": iat + self.lifetime,
            "aio": issuer_host,
            "app_displayname": "tenantsync",
            "appid": client_id,
            "appidacr": "1",
            "idp": f"https://sts.windows.net/{tenant_id}/",
            "idtyp": "app",
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id}/{client_id}")),
            "roles": roles,
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp/{tenant_id}/{client_id}")),
            "tid": tenant_id,
            "uti": secrets.token_urlsafe(16),
            "ver": "1.0",
            "wids": wids,
        }
        header = {"typ": "JWT", "alg": "HS256", "kid": "sandbox"}
        body = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = hmac.new(self.key, body.encode(), hashlib.sha256).digest()
        return f"{body}.{_b64(signature)}", self.lifetime

    def check(self, authorization: str | None, *, now: datetime) -> TokenClaims:
        """Claims of a valid `Authorization: Bearer …` header; raises TokenInvalid."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise TokenInvalid("missing")
        token = authorization[7:].strip()
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenInvalid("malformed")
        expected = hmac.new(self.key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        try:
            ok = hmac.compare_digest(expected, _unb64(parts[2]))
            claims = json.loads(_unb64(parts[1]))
        except (ValueError, json.JSONDecodeError):
            raise TokenInvalid("malformed") from None
        if not ok:
            raise TokenInvalid("signature")
        if int(claims.get("exp", 0)) <= int(now.timestamp()):
            raise TokenInvalid("expired")
        return TokenClaims(
            tenant_id=str(claims["tid"]),
            client_id=str(claims["appid"]),
            audience=str(claims["aud"]),
            roles=tuple(claims.get("roles", ())),
            wids=tuple(claims.get("wids", ())),
            expires=int(claims["exp"]),
        )


def unverified_tenant(authorization: str | None) -> str | None:
    """The `tid` claim of a bearer token without checking it (for routing and rate limits)."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    parts = authorization[7:].strip().split(".")
    if len(parts) != 3:
        return None
    try:
        tid = json.loads(_unb64(parts[1])).get("tid")
    except (ValueError, json.JSONDecodeError, AttributeError):
        return None
    return tid if isinstance(tid, str) else None
