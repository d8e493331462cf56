"""Mailbox permissions as Exchange itself reports them, read through the Exchange Management
Shell: PowerShell remoting (pypsrp) to ``http(s)://SERVER/PowerShell``, configuration
``Microsoft.Exchange``, Kerberos with a UPN-form user or Basic over HTTPS.

Exchange's endpoint runs in no-language mode, so every call is one cmdlet with parameters,
never a script (several Runspace Pools read mailboxes side by side): per mailbox
Get-MailboxPermission (Full Access), Get-ADPermission (Send As, the ``Send-As`` extended
right) and Get-Mailbox (GrantSendOnBehalfTo). A mailbox any of whose calls fails, or writes
an error, is a ReadFailure and keeps its grants; a refused sign-in is an AuthError (nothing
can be read). Trustees come by name only, so a name the directory does not know (a Send on
Behalf delegate as a canonical name, say) keeps the grants of its right rather than reading
as "no longer granted".
"""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from tenantsync.connectors.exchange_acl import (
    full_access_entries,
    send_as_ad_entries,
    send_on_behalf_entries,
    when_changed,
)
from tenantsync.connectors.onprem.kerberos import gss_errors, gss_text, need_gssapi, principal_of
from tenantsync.errors import AuthError, ConfigError, SourceError
from tenantsync.model.permissions import AclEntry, MailboxAcl, MailboxRef, ReadFailure, Right

CONFIGURATION = "Microsoft.Exchange"
# Exchange's transient failures: the DC or the server was busy, a retry may answer.
TRANSIENT = ("ADTransientException", "TransientException", "ServerBusy")


@dataclass(frozen=True, slots=True)
class ShellEndpoint:
    """Where the Management Shell is and as whom: ``auth`` is basic (HTTPS only) or
    kerberos; ``user`` is a UPN."""

    url: str
    auth: str
    user: str | None
    password: str | None
    ca_file: str | None = None
    # Kerberos: the server's name in its service principal HTTP/NAME (None: the URL's).
    spn_host: str | None = None


class CmdletFailed(SourceError):
    """A cmdlet ended with an error: its text, and whether Exchange called it transient."""


class ManagementShell:
    """One remote Runspace Pool on the Exchange server, opened on first use."""

    def __init__(self, endpoint: ShellEndpoint) -> None:
        self.endpoint = endpoint
        self.requests = 0
        self._pool: Any = None

    def open(self) -> None:
        """Open the Runspace Pool now (the first cmdlet would): AuthError when the sign-in
        is refused, a retryable SourceError when the endpoint does not answer."""
        if self._pool is None:
            self._pool = self._open()

    def _open(self) -> Any:
        from pypsrp.exceptions import AuthenticationError, WinRMError
        from pypsrp.powershell import RunspacePool
        from pypsrp.wsman import WSMan

        e = self.endpoint
        parts = urlsplit(e.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{e.url!r} is not an http(s) URL", field="ems_url")
        if e.auth == "basic" and parts.scheme != "https":
            raise ConfigError("Basic sign-in is sent only over https", field="ems_url")
        kerberos = e.auth == "kerberos"
        if kerberos:
            need_gssapi(with_krb5=True)
        wsman = WSMan(
            parts.hostname,
            port=parts.port or (443 if parts.scheme == "https" else 80),
            path=parts.path.lstrip("/") or "PowerShell",
            ssl=parts.scheme == "https",
            auth=e.auth,
            # A Kerberos principal's realm is the domain upper-cased (svc@CORP.EXAMPLE).
            username=principal_of(e.user) if kerberos else e.user,
            password=e.password,
            # IIS serves /PowerShell: its service principal is HTTP/SERVER.
            negotiate_service="HTTP",
            negotiate_hostname_override=e.spn_host,
            # requests' verify: True or a CA bundle's path (pypsrp's annotation says bool).
            cert_validation=e.ca_file or True,  # type: ignore[arg-type]
            # Kerberos over plain HTTP encrypts the messages itself, as Exchange expects.
            encryption="auto",
        )
        pool = RunspacePool(wsman, configuration_name=CONFIGURATION)
        try:
            pool.open()
        except AuthenticationError as exc:
            raise AuthError(f"the Management Shell at {e.url} refused {e.user}: {exc}") from None
        except gss_errors() as exc:
            spn = f"HTTP/{e.spn_host or parts.hostname}"
            raise AuthError(
                f"Kerberos sign-in of {e.user or 'the ticket cache'} to {spn} failed: "
                f"{gss_text(exc)}"
            ) from None
        except (WinRMError, OSError) as exc:
            raise SourceError(
                f"the Management Shell at {e.url} did not open: {exc}", retryable=True
            ) from None
        return pool

    def run(self, cmdlet: str, **parameters: str) -> list[dict[str, Any]]:
        """One cmdlet's output as plain dicts; CmdletFailed when it wrote an error."""
        from pypsrp.complex_objects import PSInvocationState
        from pypsrp.exceptions import WinRMError
        from pypsrp.powershell import PowerShell

        self.open()
        ps = PowerShell(self._pool)
        ps.add_cmdlet(cmdlet)
        for name, value in parameters.items():
            ps.add_parameter(name, value)
        self.requests += 1
        try:
            output = ps.invoke()
        except (WinRMError, OSError) as exc:
            self._pool = None  # the shell may be gone: open a new one next time
            raise CmdletFailed(f"{cmdlet} did not answer: {exc}", retryable=True) from None
        errors = ps.streams.error
        if ps.state == PSInvocationState.FAILED or errors:
            text = "; ".join(str(e) for e in errors) or f"{cmdlet} failed"
            # The exception's kind travels in the error id and the category's reason.
            kinds = " ".join(f"{_attr(e, 'fq_error')} {_attr(e, 'reason')}" for e in errors)
            raise CmdletFailed(f"{cmdlet}: {text}", retryable=any(t in kinds for t in TRANSIENT))
        return [_plain_object(o) for o in output]

    def close(self) -> None:
        """Close the Runspace Pool (its shell on the server)."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            from pypsrp.exceptions import WinRMError

            # Closing a shell the server already dropped is best effort.
            with contextlib.suppress(WinRMError, OSError):
                pool.close()


def _attr(record: Any, name: str) -> str:
    return str(getattr(record, name, "") or "")


def _plain_object(obj: Any) -> dict[str, Any]:
    props = {**getattr(obj, "adapted_properties", {}), **getattr(obj, "extended_properties", {})}
    return {name: _plain(value) for name, value in props.items()}


def _plain(value: Any) -> Any:
    """A deserialized value as plain data: lists as lists, enums and other objects as the
    text PowerShell shows (``FullAccess, ReadPermission``)."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    text = getattr(value, "to_string", None)
    return str(text) if text is not None else str(value)


class EmsPermissionReader:
    """The PermissionSource of an on-premises connection that reads through the Shell:
    one mailbox per Runspace Pool at a time, as many pools as ``shells`` (Exchange allows a
    user 18 shells by default, PowerShellMaxConcurrency)."""

    def __init__(self, shells: Sequence[ManagementShell]) -> None:
        if not shells:
            raise ValueError("the Shell reader needs a shell")
        self.shells = list(shells)

    def change_stamps(self, mailboxes: Sequence[MailboxRef]) -> dict[int, datetime | None]:
        """None known: every mailbox is read (a stamp would cost a call per mailbox)."""
        return {}

    def read(
        self,
        mailboxes: Sequence[MailboxRef],
        rights: frozenset[Right],
        cancelled: Callable[[], bool],
    ) -> Iterator[MailboxAcl | ReadFailure]:
        """One result per mailbox, as reads complete: its entries, or why they could not be
        read. A refused sign-in ends the read (AuthError)."""
        idle: queue.SimpleQueue[ManagementShell] = queue.SimpleQueue()
        for shell in self.shells:
            idle.put(shell)

        def one(mailbox: MailboxRef) -> MailboxAcl | ReadFailure:
            shell = idle.get()
            try:
                return self._read_one(shell, mailbox, rights)
            except AuthError:
                raise
            except SourceError as exc:
                return ReadFailure(mailbox, str(exc), exc.retryable)
            finally:
                idle.put(shell)

        pending = iter(mailboxes)
        with ThreadPoolExecutor(len(self.shells), thread_name_prefix="ems") as pool:
            running: set[Future[MailboxAcl | ReadFailure]] = set()
            try:
                while True:
                    while len(running) < 2 * len(self.shells) and not cancelled():
                        mailbox = next(pending, None)
                        if mailbox is None:
                            break
                        running.add(pool.submit(one, mailbox))
                    if not running:
                        return
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        yield future.result()
            finally:
                for future in running:
                    future.cancel()

    def _read_one(
        self, shell: ManagementShell, mailbox: MailboxRef, rights: frozenset[Right]
    ) -> MailboxAcl:
        address = mailbox.address
        entries: list[AclEntry] = []
        changed = None
        if Right.FULL_ACCESS in rights:
            rows = shell.run("Get-MailboxPermission", Identity=address)
            entries += full_access_entries(address, rows)
        if Right.SEND_AS in rights:
            rows = shell.run("Get-ADPermission", Identity=address)
            entries += send_as_ad_entries(address, rows)
        if Right.SEND_ON_BEHALF in rights:
            found = shell.run("Get-Mailbox", Identity=address)
            if len(found) != 1:
                raise SourceError(f"Get-Mailbox -Identity {address} found {len(found)} mailboxes")
            entries += send_on_behalf_entries(address, found[0])
            changed = when_changed(found[0])
        # Exchange names trustees by name only (DOMAIN\alias, a canonical name), never
        # checked against a listing here: one the directory does not know keeps its grants.
        return MailboxAcl(mailbox, tuple(entries), changed, names_complete=False)

    def notes(self) -> list[str]:
        """Nothing to say: each mailbox is read by its own cmdlets."""
        return []

    def calls(self) -> dict[str, int]:
        """Cmdlets run."""
        requests = sum(shell.requests for shell in self.shells)
        return {"requests": requests, "throttled": 0, "retries": 0}


__all__ = ["EmsPermissionReader", "ManagementShell", "ShellEndpoint"]
