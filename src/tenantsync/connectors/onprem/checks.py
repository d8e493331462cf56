"""The health check of an on-premises connection, line by line: the domain controller
answers, its certificate verifies, the bind succeeds, a mailbox can be read; then, by the
path its permissions are read from, either the mailbox's security descriptors (and whether
DirSync is allowed) or the Exchange Management Shell: its endpoint answers, its
certificate verifies, the sign-in is accepted, Get-Mailbox -ResultSize 1 and
Get-MailboxPermission on that mailbox answer.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tenantsync.connectors.kind import Check
from tenantsync.connectors.onprem.entries import Entry, mailbox_of
from tenantsync.connectors.onprem.ldap import sd_flags_control
from tenantsync.errors import AuthError, SourceError

if TYPE_CHECKING:
    from tenantsync.connectors.onprem.kind import OnPremConnector

NamedChecks = tuple[tuple[str, Check], ...]


async def _answers(host: str, port: int) -> str:
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
    except (OSError, TimeoutError) as exc:
        raise SourceError(f"{host}:{port} does not answer: {exc}", retryable=True) from None
    writer.close()
    await writer.wait_closed()
    return f"{host}:{port} answers"


async def _handshake(host: str, port: int, ca_file: str | None) -> str:
    """A TLS handshake verified with ``ca_file`` (else the system's CAs); its version."""
    context = ssl.create_default_context(cafile=ca_file)
    try:
        _reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context), 10
        )
    except ssl.SSLCertVerificationError as exc:
        where = f"the CA file {ca_file}" if ca_file else "the system's CAs"
        raise SourceError(
            f"the certificate of {host} does not verify with {where}: {exc.verify_message}"
        ) from None
    except (OSError, TimeoutError) as exc:
        raise SourceError(f"TLS with {host}:{port} failed: {exc}") from None
    version = str(writer.get_extra_info("ssl_object").version())
    writer.close()
    await writer.wait_closed()
    return f"certificate of {host} verified ({version})"


async def _reach(connector: OnPremConnector) -> str:
    e = connector.ldap.endpoint
    return await _answers(e.server, e.port)


async def _tls(connector: OnPremConnector) -> str:
    e = connector.ldap.endpoint
    if e.starttls:
        await asyncio.to_thread(connector.ldap.connection)
        return f"StartTLS on {e.server}:{e.port}; certificate verified"
    return await _handshake(e.server, e.port, e.ca_file)


async def _bind(connector: OnPremConnector) -> str:
    await asyncio.to_thread(connector.ldap.connection)
    base = await asyncio.to_thread(connector.base_dn)
    e = connector.ldap.endpoint
    who = f"{e.user or 'the ticket cache'} (Kerberos)" if e.kerberos else e.user
    return f"bound as {who}; domain {base}"


async def _mailbox(connector: OnPremConnector) -> str:
    entry = await asyncio.to_thread(_first_mailbox, connector)
    info = mailbox_of(entry)
    kind = info.recipient_type if info else "?"
    return f"read mailbox {entry.text('mail') or entry.ref.dn} ({kind})"


async def _descriptor(connector: OnPremConnector) -> str:
    entry = await asyncio.to_thread(_first_mailbox, connector, sd=True)
    if not entry.raw.get("ntsecuritydescriptor"):
        raise AuthError(
            f"nTSecurityDescriptor of {entry.text('mail')} was withheld: the account needs "
            "Read Permissions (READ_CONTROL) on mailbox objects to read Send As"
        )
    if not entry.raw.get("msexchmailboxsecuritydescriptor"):
        return (
            f"Send As readable on {entry.text('mail')}; it has no "
            "msExchMailboxSecurityDescriptor (no Full Access set)"
        )
    return f"Full Access and Send As readable on {entry.text('mail')}"


async def _dirsync(connector: OnPremConnector) -> str:
    base = await asyncio.to_thread(connector.base_dn)
    try:
        await asyncio.to_thread(
            connector.ldap.dirsync, base, "(objectGUID=\\00)", ["objectGUID"], None
        )
    except AuthError as exc:
        raise AuthError(f"{exc}; every user sync reads in full") from None
    return "DirSync allowed (Replicating Directory Changes): user sync reads changes only"


def _first_mailbox(connector: OnPremConnector, *, sd: bool = False) -> Entry:
    base = connector.base_dn()
    attributes = ["mail", "msExchRecipientTypeDetails", "homeMDB"]
    if sd:
        attributes += ["nTSecurityDescriptor", "msExchMailboxSecurityDescriptor"]
    try:
        found = connector.ldap.search(
            base,
            "(&(objectCategory=person)(homeMDB=*)(msExchRecipientTypeDetails=*))",
            attributes,
            controls=[sd_flags_control()] if sd else (),
            size_limit=1,
        )
    except SourceError as exc:
        if "undefined" in str(exc).lower() or "attribute" in str(exc).lower():
            raise SourceError(f"the schema lacks Exchange's attributes: {exc}") from None
        raise
    if not found:
        raise SourceError(f"no mailbox (homeMDB and msExchRecipientTypeDetails) under {base}")
    return Entry(found[0])


def _shell_address(connector: OnPremConnector) -> tuple[str, int, bool]:
    url = connector.shell().endpoint.url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(f"ems_url {url!r} is not an http(s) URL")
    https = parts.scheme == "https"
    return parts.hostname, parts.port or (443 if https else 80), https


async def _shell_reach(connector: OnPremConnector) -> str:
    host, port, _https = _shell_address(connector)
    return await _answers(host, port)


async def _shell_tls(connector: OnPremConnector) -> str:
    host, port, https = _shell_address(connector)
    if not https:
        return "plain http: Kerberos encrypts the Shell's messages itself"
    return await _handshake(host, port, connector.shell().endpoint.ca_file)


async def _shell_sign_in(connector: OnPremConnector) -> str:
    shell = connector.shell()
    await asyncio.to_thread(shell.open)
    e = shell.endpoint
    return f"signed in to {e.url} as {e.user or 'the Kerberos ticket'} ({e.auth})"


def _shell_mailbox(connector: OnPremConnector) -> str:
    found = connector.shell().run("Get-Mailbox", ResultSize="1")
    if not found:
        raise SourceError("Get-Mailbox -ResultSize 1 found no mailbox")
    return str(found[0].get("PrimarySmtpAddress") or found[0].get("Identity"))


async def _shell_get_mailbox(connector: OnPremConnector) -> str:
    address = await asyncio.to_thread(_shell_mailbox, connector)
    return f"Get-Mailbox -ResultSize 1: {address}"


async def _shell_permission(connector: OnPremConnector) -> str:
    def read() -> str:
        address = _shell_mailbox(connector)
        rows = connector.shell().run("Get-MailboxPermission", Identity=address)
        return f"Get-MailboxPermission -Identity {address}: {len(rows)} entries"

    return await asyncio.to_thread(read)


DIRECTORY: NamedChecks = (
    ("reach the domain controller", _reach),
    ("TLS", _tls),
    ("bind", _bind),
    ("read a mailbox", _mailbox),
)
DESCRIPTORS: NamedChecks = (
    ("read security descriptors", _descriptor),
    ("incremental reads", _dirsync),
)
SHELL: NamedChecks = (
    ("reach the Management Shell", _shell_reach),
    ("Management Shell TLS", _shell_tls),
    ("Management Shell sign-in", _shell_sign_in),
    ("Get-Mailbox", _shell_get_mailbox),
    ("Get-MailboxPermission", _shell_permission),
)
CHECKS: NamedChecks = DIRECTORY + DESCRIPTORS


def checks_for(connector: OnPremConnector) -> NamedChecks:
    """The lines of this connection's check: the directory's, then its permission path's
    (with DirSync, which user sync uses whichever path permissions take)."""
    if connector.params.permission_path == "ems":
        return DIRECTORY + SHELL + DESCRIPTORS[1:]
    return CHECKS


__all__ = ["CHECKS", "checks_for"]
