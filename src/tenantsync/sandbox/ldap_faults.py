"""Fault knobs for the on-premises sandbox: an LDAPS front for the Samba DC that passes
every LDAP message through unchanged, except the answers to the requests a rule names,
which it fails with a result code or cuts short by closing the connection.

A client is pointed at the front's port instead of the DC's (same host, same certificate,
same CA file). The DC does all the directory work; only the wire is broken, the way a DC
that is busy, over its limits or restarted breaks it:

    LdapFault(match=PAGED, after=1)                    every page after the first: busy (51)
    LdapFault(match=PAGED, after=1, action="cut",      the second page's answer cut after
              entries=3)                               three entries (the socket closes)
    LdapFault(match=b"objectSid", unless=SD_FLAGS,     searches by SID answered with no
              code=SIZE_LIMIT, entries=0)              entry and "size limit exceeded"

Rules count the answers to matching requests per connection (a run opens its own), so a
rule holds for every attempt of a run. ``injected`` counts what was done.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from dataclasses import dataclass, field
from typing import Literal

from tenantsync.sandbox.samba import SambaDC
from tenantsync.sandbox.tls import ensure_certificates

PAGED = b"1.2.840.113556.1.4.319"
DIRSYNC = b"1.2.840.113556.1.4.841"
SD_FLAGS = b"1.2.840.113556.1.4.801"
BUSY = 51
SIZE_LIMIT = 4
SEARCH_ENTRY, SEARCH_DONE, SEARCH_REFERENCE = 0x64, 0x65, 0x73


@dataclass(frozen=True)
class LdapFault:
    """Which answers break and how: those to requests carrying ``match`` (a control's OID,
    an attribute name) and not ``unless``, after the first ``after`` of them on a
    connection; ``entries`` of the answer pass first (None: all), then it fails with
    ``code`` or is cut."""

    match: bytes
    after: int = 0
    unless: bytes | None = None
    action: Literal["fail", "cut"] = "fail"
    code: int = BUSY
    entries: int | None = None


@dataclass
class _Answer:
    fault: LdapFault | None
    passed: int = 0


@dataclass
class _Link:
    client: ssl.SSLSocket
    upstream: ssl.SSLSocket
    requests: dict[bytes, bytes] = field(default_factory=dict)
    seen: dict[int, int] = field(default_factory=dict)
    answers: dict[bytes, _Answer] = field(default_factory=dict)


class LdapFaultProxy:
    """An LDAPS listener on loopback in front of ``dc``; ``rules`` may change at any time."""

    def __init__(self, dc: SambaDC) -> None:
        self.dc = dc
        self.rules: list[LdapFault] = []
        self.injected: dict[str, int] = {}
        # The DC's own certificate (it names the loopback address): clients see no change.
        tls = ensure_certificates(dc.root / "tls", [dc.host])
        self._server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server_tls.load_cert_chain(tls.cert_file, tls.key_file)
        self._client_tls = ssl.create_default_context(cafile=str(dc.ca_file))
        self._listener = socket.create_server((dc.host, 0))
        self.port: int = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, name="ldap-faults", daemon=True).start()

    def close(self) -> None:
        """Stop listening (open connections end with their clients)."""
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                raw, _addr = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        try:
            client = self._server_tls.wrap_socket(raw, server_side=True)
            upstream = self._client_tls.wrap_socket(
                socket.create_connection((self.dc.host, 636)), server_hostname=self.dc.host
            )
        except OSError:
            raw.close()
            return
        link = _Link(client, upstream)
        threading.Thread(target=self._requests, args=(link,), daemon=True).start()
        self._answers(link)

    def _requests(self, link: _Link) -> None:
        """Client to DC: remember each request by its message id, pass it on."""
        try:
            while (message := _read_message(link.client)) is not None:
                link.requests[_message_id(message)] = message
                link.upstream.sendall(message)
        except OSError:
            pass
        _close(link)

    def _answers(self, link: _Link) -> None:
        """DC to client: pass answers on, breaking those a rule names."""
        try:
            while (message := _read_message(link.upstream)) is not None:
                if not self._pass(link, message):
                    break
        except OSError:
            pass
        _close(link)

    def _pass(self, link: _Link, message: bytes) -> bool:
        """Forward one answer message, or its broken form; False once the link is cut."""
        msgid = _message_id(message)
        op = message[_op_offset(message)]
        if op not in (SEARCH_ENTRY, SEARCH_DONE, SEARCH_REFERENCE):
            link.client.sendall(message)
            return True
        answer = link.answers.get(msgid)
        if answer is None:
            answer = link.answers[msgid] = _Answer(self._fault(link, msgid))
        fault = answer.fault
        if fault is None:
            link.client.sendall(message)
            return True
        if op != SEARCH_DONE and (fault.entries is None or answer.passed < fault.entries):
            answer.passed += 1
            link.client.sendall(message)
            return True
        if fault.action == "cut":
            self.injected["cut"] = self.injected.get("cut", 0) + 1
            return False
        if op == SEARCH_DONE:
            self.injected[str(fault.code)] = self.injected.get(str(fault.code), 0) + 1
            link.client.sendall(_failed_done(message, fault.code))
        return True

    def _fault(self, link: _Link, msgid: bytes) -> LdapFault | None:
        """The rule that breaks the answer to this request, counting it against each rule."""
        request = link.requests.get(msgid, b"")
        for index, rule in enumerate(list(self.rules)):
            if rule.match in request and not (rule.unless and rule.unless in request):
                count = link.seen.get(index, 0)
                link.seen[index] = count + 1
                if count >= rule.after:
                    return rule
        return None


def _read_exact(sock: ssl.SSLSocket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _read_message(sock: ssl.SSLSocket) -> bytes | None:
    """One BER-framed LDAPMessage, or None at the end of the stream."""
    head = _read_exact(sock, 2)
    if head is None:
        return None
    length, extra = head[1], b""
    if length & 0x80:
        extra = _read_exact(sock, length & 0x7F) or b""
        length = int.from_bytes(extra, "big")
    body = _read_exact(sock, length)
    return None if body is None else head + extra + body


def _content_offset(message: bytes) -> int:
    return 2 + (message[1] & 0x7F if message[1] & 0x80 else 0)


def _message_id(message: bytes) -> bytes:
    """The messageID's INTEGER, as encoded."""
    at = _content_offset(message)
    return message[at : at + 2 + message[at + 1]]


def _op_offset(message: bytes) -> int:
    return _content_offset(message) + len(_message_id(message))


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _failed_done(message: bytes, code: int) -> bytes:
    """A searchResultDone for the same request with ``code``, and no controls."""
    text = b"sandbox fault: answer broken on purpose"
    body = b"\x0a\x01" + bytes([code]) + b"\x04\x00\x04" + _length(len(text)) + text
    content = _message_id(message) + bytes([SEARCH_DONE]) + _length(len(body)) + body
    return b"\x30" + _length(len(content)) + content


def _close(link: _Link) -> None:
    for sock in (link.client, link.upstream):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()


__all__ = ["BUSY", "DIRSYNC", "PAGED", "SD_FLAGS", "SIZE_LIMIT", "LdapFault", "LdapFaultProxy"]
