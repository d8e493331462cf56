"""LDAP to one Active Directory domain controller with ldap3: LDAPS or StartTLS verified
against a CA file (plain binds are never sent), a simple bind as a service account or a
Kerberos (SASL GSSAPI) bind, paged searches and DirSync rounds.

ldap3 is synchronous; the directory and permission sources call it from a worker thread.
Every failure leaves here as the engine's error: ``AuthError`` for credentials and missing
rights, ``SourceError(retryable=True)`` for a DC that cannot be reached or cut the
connection, ``IncompleteRead`` for a paged search that did not end with proof,
``DeltaExpired`` for a DirSync cookie the DC rejects.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ldap3 import KERBEROS, NONE, SASL, SIMPLE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import (
    LDAPBindError,
    LDAPCommunicationError,
    LDAPException,
    LDAPResponseTimeoutError,
    LDAPSocketOpenError,
    LDAPSocketReceiveError,
    LDAPStartTLSError,
)
from ldap3.protocol.controls import build_control
from ldap3.protocol.microsoft import (
    DirSyncControlRequestValue,
    extended_dn_control,
    security_descriptor_control,
    show_deleted_control,
)
from pyasn1.type.univ import OctetString

from tenantsync.connectors.onprem import kerberos
from tenantsync.errors import AuthError, ConfigError, DeltaExpired, IncompleteRead, SourceError

DIRSYNC_OID = "1.2.840.113556.1.4.841"
PAGED_OID = "1.2.840.113556.1.4.319"
# DirSync flags (MS-ADTS 3.1.1.3.4.1.3): parents before children, and linked values
# (member) as added and removed values rather than the whole list.
ANCESTORS_FIRST = 0x00000800
INCREMENTAL_VALUES = 0x80000000
DIRSYNC_MAX_BYTES = 0x7FFFFFFF
# SD flags control: the DACL only, which an account without rights on owner and SACL may read.
DACL_ONLY = 0x04
REPLICATING_CHANGES = "Replicating Directory Changes"


def dirsync_control(cookie: bytes | None, flags: int = ANCESTORS_FIRST | INCREMENTAL_VALUES) -> Any:
    """The DirSync request control. Its flags are a 32-bit value sent as a signed 4-byte
    INTEGER: ldap3's own builder sends 0x80000800 as five bytes (02 05 00 80 00 08 01),
    which Samba accepts and Active Directory is reported to reject."""
    value = DirSyncControlRequestValue()
    value.setComponentByName("Flags", flags - (1 << 32) if flags & 0x80000000 else flags)
    value.setComponentByName("MaxBytes", DIRSYNC_MAX_BYTES)
    value.setComponentByName("Cookie", OctetString(cookie or b""))
    return build_control(DIRSYNC_OID, True, value)


class VerifiedTls(Tls):  # type: ignore[misc]
    """TLS whose certificate must chain to the CA file and name the server (ldap3's own
    check is switched off in its SSL context and uses a deprecated matcher)."""

    def __init__(self, ca_file: str | None) -> None:
        super().__init__(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file)

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        """Wrap the connection's socket, verifying chain and host name."""
        context = ssl.create_default_context(cafile=self.ca_certs_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        connection.socket = context.wrap_socket(
            connection.socket,
            server_hostname=connection.server.host,
            do_handshake_on_connect=do_handshake,
        )


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach the DC, and as whom (the password stays in the connector)."""

    server: str
    port: int
    starttls: bool
    ca_file: str | None
    user: str | None
    kerberos: bool
    timeout: float = 15.0
    # Kerberos only: a keytab for ``user``, and the DC's name in its service principal
    # (ldap/NAME) when ``server`` is an address or an alias.
    keytab: str | None = None
    spn_host: str | None = None


@dataclass
class DirSyncRound:
    """One DirSync answer: its entries, the next cookie, and whether more follow."""

    entries: list[dict[str, Any]]
    cookie: bytes
    more: bool


class Ldap:
    """One bound connection to a DC, opened on first use and shared by one reader's calls
    (ldap3's sync strategy is not safe to share between threads: calls take a lock)."""

    def __init__(self, endpoint: Endpoint, password: str | None) -> None:
        self.endpoint = endpoint
        self._password = password
        self._conn: Connection | None = None
        self._lock = threading.Lock()
        self.requests = 0

    def server(self) -> Server:
        """The ldap3 server description (no schema read: names are not checked against it)."""
        e = self.endpoint
        return Server(
            e.server,
            port=e.port,
            use_ssl=not e.starttls,
            tls=VerifiedTls(e.ca_file),
            get_info=NONE,
            connect_timeout=e.timeout,
        )

    def connection(self) -> Connection:
        """The bound connection, opened and bound when first asked for."""
        if self._conn is not None and self._conn.bound:
            return self._conn
        e = self.endpoint
        if e.kerberos:
            creds = kerberos.credentials(e.user, self._password, e.keytab)
            conn = Connection(
                self.server(),
                authentication=SASL,
                sasl_mechanism=KERBEROS,
                # The service principal's host (None: the server's name), no authorization
                # id of its own, the credentials got above (None: the default cache).
                sasl_credentials=(e.spn_host, None, creds),
                check_names=False,
                receive_timeout=max(e.timeout, 120),
            )
        else:
            if not e.user or not self._password:
                raise ConfigError("a simple bind needs a bind user and its password")
            conn = Connection(
                self.server(),
                user=e.user,
                password=self._password,
                authentication=SIMPLE,
                check_names=False,
                receive_timeout=max(e.timeout, 120),
            )
        try:
            conn.open()
            if e.starttls:
                conn.start_tls()
            if not conn.bind():
                raise AuthError(
                    f"the DC refused the bind of {e.user or 'the Kerberos ticket'}: "
                    f"{_why(conn.result)}"
                )
        except (LDAPSocketOpenError, LDAPSocketReceiveError, OSError) as exc:
            raise SourceError(f"cannot reach {e.server}:{e.port}: {exc}", retryable=True) from None
        except LDAPStartTLSError as exc:
            raise SourceError(f"StartTLS with {e.server} failed: {exc}") from None
        except LDAPBindError as exc:
            raise AuthError(f"the DC refused the bind: {exc}") from None
        except kerberos.gss_errors() as exc:
            # No service ticket for the DC (an unknown principal, a clock too far off).
            spn = f"ldap/{e.spn_host or e.server}"
            raise AuthError(f"Kerberos sign-in to {spn} failed: {kerberos.gss_text(exc)}") from None
        self._conn = conn
        return conn

    def close(self) -> None:
        """Unbind (the next call binds again)."""
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(LDAPException):
                    self._conn.unbind()
                self._conn = None

    def search(
        self,
        base: str,
        search_filter: str,
        attributes: Sequence[str],
        *,
        scope: Any = SUBTREE,
        controls: Sequence[Any] = (),
        size_limit: int = 0,
    ) -> list[dict[str, Any]]:
        """One plain search (no paging): its entries. An answer cut at the DC's size limit
        is an error unless ``size_limit`` asked for that many only."""
        with self._lock:
            conn = self.connection()
            ok = self._call(
                lambda: conn.search(
                    base,
                    search_filter,
                    scope,
                    attributes=list(attributes),
                    controls=list(controls) or None,
                    size_limit=size_limit,
                )
            )
            accepted = (0, 4, 32) if size_limit else (0, 32)
            if not ok and conn.result.get("result") not in accepted:
                _raise(conn.result, f"search of {base}")
            return _entries(conn.response)

    def paged(
        self,
        base: str,
        search_filter: str,
        attributes: Sequence[str],
        *,
        page_size: int = 1000,
        controls: Sequence[Any] = (),
    ) -> Iterator[list[dict[str, Any]]]:
        """A paged search, page by page; IncompleteRead when it stops before the DC says
        it is done (an empty paging cookie is the proof)."""
        cookie: bytes | None = b""
        while cookie is not None:
            with self._lock:
                conn = self.connection()
                try:
                    self._call(
                        lambda conn=conn, cookie=cookie: conn.search(
                            base,
                            search_filter,
                            SUBTREE,
                            attributes=list(attributes),
                            paged_size=page_size,
                            paged_cookie=cookie,
                            controls=list(controls) or None,
                        )
                    )
                except SourceError as exc:
                    raise IncompleteRead(
                        f"the paged search of {base} stopped: {exc}", retryable=exc.retryable
                    ) from None
                if conn.result.get("result") != 0:
                    _raise(conn.result, f"paged search of {base}", incomplete=True)
                page = _entries(conn.response)
                paging = (conn.result.get("controls") or {}).get(PAGED_OID)
            if paging is None:
                raise IncompleteRead(f"the paged search of {base} lost its paging control")
            next_cookie = paging["value"]["cookie"]
            cookie = next_cookie or None
            yield page

    def dirsync(
        self, base: str, search_filter: str, attributes: Sequence[str], cookie: bytes | None
    ) -> DirSyncRound:
        """One DirSync round from ``cookie`` (None: from the beginning)."""
        controls = [
            dirsync_control(cookie),
            extended_dn_control(criticality=False, hex_format=False),
            show_deleted_control(criticality=False),
        ]
        with self._lock:
            conn = self.connection()
            self._call(
                lambda: conn.search(
                    base, search_filter, SUBTREE, attributes=list(attributes), controls=controls
                )
            )
            result = conn.result
            if result.get("result") != 0:
                text = _why(result)
                if cookie and result.get("result") in (2, 12, 53, 80):
                    raise DeltaExpired(f"the DC rejected the saved DirSync cookie ({text})")
                if result.get("result") == 50:
                    raise AuthError(
                        f"DirSync refused: the account needs {REPLICATING_CHANGES} on {base} "
                        f"({text})"
                    )
                _raise(result, "DirSync")
            answer = (result.get("controls") or {}).get(DIRSYNC_OID)
            if answer is None:
                raise IncompleteRead("the DC answered DirSync without its control")
            value = answer["value"]
            return DirSyncRound(
                _entries(conn.response), bytes(value["cookie"]), bool(value["more_results"])
            )

    def _call(self, search: Any) -> bool:
        self.requests += 1
        try:
            return bool(search())
        except (LDAPCommunicationError, LDAPResponseTimeoutError, OSError) as exc:
            # A socket that failed, or a DC that ended the session: bind anew next call.
            self._conn = None
            raise SourceError(f"the DC cut the connection: {exc}", retryable=True) from None
        except LDAPException as exc:
            raise SourceError(f"LDAP error: {exc}") from None


def sd_flags_control() -> Any:
    """Ask for the DACL of nTSecurityDescriptor only."""
    return security_descriptor_control(sdflags=DACL_ONLY)[0]


def _entries(response: Any) -> list[dict[str, Any]]:
    return [e for e in response or () if e.get("type") == "searchResEntry"]


def _why(result: dict[str, Any]) -> str:
    return f"{result.get('description')}: {str(result.get('message') or '').strip()}".rstrip(": ")


def _raise(result: dict[str, Any], what: str, *, incomplete: bool = False) -> None:
    code = result.get("result")
    text = f"{what} failed: {_why(result)}"
    if code in (8, 13):
        raise AuthError(f"{text} (the DC demands a stronger binding: use LDAPS or StartTLS)")
    if code in (49, 50):
        raise AuthError(text)
    if code in (51, 52, 81):
        raise (IncompleteRead if incomplete else SourceError)(text, retryable=True)
    raise (IncompleteRead if incomplete else SourceError)(text)


__all__ = [
    "DirSyncRound",
    "Endpoint",
    "Ldap",
    "VerifiedTls",
    "dirsync_control",
    "sd_flags_control",
]
