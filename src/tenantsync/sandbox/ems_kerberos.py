"""Kerberos sign-in to the emulated Management Shell, as IIS does it for Exchange's
/PowerShell: ``Authorization: Negotiate <token>`` answered from the Exchange server's keytab
(its ``HTTP/`` service principal, exported from the domain's KDC), the reply token for
mutual authentication in ``WWW-Authenticate``, and the sign-in bound to the TCP connection
it came on (HTTP Negotiate is connection-based: later requests on that connection carry no
header). A connection quiet for a minute is forgotten: its next request is answered 401 and
the client signs in again, as after IIS drops a connection.

Which accounts may open a shell (Exchange's role check) is given per account: the client
principal ``svc@CORP.EXAMPLE`` names the tenant it reads. Needs the optional ``gssapi``
package (MIT Kerberos).
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request

IDLE_SECONDS = 60.0


@dataclass
class KerberosAcceptor:
    """The Exchange server's side of a Kerberos sign-in."""

    keytab: Path
    # Client principal (any case) -> the tenant's first domain it may read.
    accounts: dict[str, str]
    _signed_in: dict[tuple[str, int], tuple[str, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    refused: int = 0
    accepted: int = 0

    def __post_init__(self) -> None:
        self.accounts = {k.lower(): v for k, v in self.accounts.items()}

    def connection_account(self, request: Request) -> str | None:
        """The tenant domain of the account this request's connection signed in as."""
        key = _connection(request)
        now = time.monotonic()
        with self._lock:
            found = self._signed_in.get(key)
            if found is None or now - found[1] > IDLE_SECONDS:
                self._signed_in.pop(key, None)
                return None
            self._signed_in[key] = (found[0], now)
            return found[0]

    def accept(self, request: Request) -> tuple[str | None, str | None]:
        """Sign in with the request's Negotiate token: (tenant domain, reply header) or
        (None, None) when there is no token or Kerberos refuses it."""
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("negotiate", "kerberos"):
            return None, None
        try:
            token = base64.b64decode(value.strip(), validate=True)
        except binascii.Error:
            return None, None
        import gssapi
        from gssapi.raw.misc import GSSError

        try:
            creds = gssapi.Credentials(usage="accept", store={"keytab": str(self.keytab)})
            context = gssapi.SecurityContext(creds=creds, usage="accept")
            reply = context.step(token)
            if not context.complete:
                return None, None
            principal = str(context.initiator_name)
        except GSSError:
            self.refused += 1
            return None, None
        domain = self.accounts.get(principal.lower())
        if domain is None:
            self.refused += 1
            return None, None
        with self._lock:
            self._signed_in[_connection(request)] = (domain, time.monotonic())
            self.accepted += 1
        header = f"{scheme} {base64.b64encode(reply).decode()}" if reply else None
        return domain, header


def _connection(request: Request) -> tuple[str, int]:
    client: Any = request.scope.get("client") or ("", 0)
    return str(client[0]), int(client[1])


def enable_kerberos(app: Any, keytab: Path, accounts: dict[str, str]) -> KerberosAcceptor:
    """Let ``app``'s /PowerShell accept Kerberos sign-ins with ``keytab``."""
    acceptor = KerberosAcceptor(keytab, dict(accounts))
    app.state.ems_kerberos = acceptor
    return acceptor


__all__ = ["KerberosAcceptor", "enable_kerberos"]
