"""WS-Management over SOAP as a Windows Remote Shell host speaks it: the request envelope
read (action, message id, shell selector, body) and the answers built (Create, Command,
Receive, Send, Signal, Delete responses and WSManFault), for the Exchange Management Shell
endpoint (:mod:`tenantsync.sandbox.ems`)."""

from __future__ import annotations

import base64
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "wsman": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "wst": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "wsmanfault": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "pwsh": "http://schemas.microsoft.com/powershell",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)

TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer/"
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"
ACTIONS = {
    TRANSFER + "Create": "create",
    TRANSFER + "Delete": "delete",
    SHELL + "Command": "command",
    SHELL + "Receive": "receive",
    SHELL + "Send": "send",
    SHELL + "Signal": "signal",
}
DONE = SHELL + "CommandState/Done"
RUNNING = SHELL + "CommandState/Running"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
# The WinRM error codes a client acts on.
UNKNOWN_SHELL = 2150858843  # ERROR_WSMAN_INVALID_SELECTORS
BAD_REQUEST = 2150858754  # ERROR_WSMAN_INVALID_XML
NOT_SUPPORTED = 2150858890  # ERROR_WSMAN_ACTION_NOT_SUPPORTED
UNKNOWN_RESOURCE = 2150858811  # ERROR_WSMAN_INVALID_RESOURCE_URI


class WsmanFault(Exception):
    """A request the shell host refuses: answered as a SOAP fault with a WinRM code."""

    def __init__(self, code: int, message: str, subcode: str = "w:InvalidSelectors") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.subcode = subcode


@dataclass(frozen=True, slots=True)
class Request:
    """One WS-Management request: what it asks, of which shell, with which body."""

    operation: str
    action: str
    message_id: str
    resource_uri: str
    shell_id: str | None
    body: ET.Element


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def parse(raw: bytes) -> Request:
    """The request an envelope carries; WsmanFault when it is not one this host serves."""
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise WsmanFault(BAD_REQUEST, "The request carries a DTD, which WS-Management forbids.")
    try:
        # No DTD gets this far (checked above), so no entity can expand.
        envelope = ET.fromstring(raw)  # noqa: S314
    except ET.ParseError as exc:
        raise WsmanFault(BAD_REQUEST, f"The request is not well-formed XML: {exc}") from None
    header = envelope.find("s:Header", NS)
    body = envelope.find("s:Body", NS)
    if header is None or body is None:
        raise WsmanFault(BAD_REQUEST, "The SOAP envelope has no Header or Body.")
    action = (header.findtext("wsa:Action", "", NS) or "").strip()
    operation = ACTIONS.get(action)
    if operation is None:
        raise WsmanFault(
            NOT_SUPPORTED,
            f"The WS-Management service does not support the specified action: {action}",
            "w:ActionNotSupported",
        )
    shell_id = None
    for selector in header.iterfind("wsman:SelectorSet/wsman:Selector", NS):
        if selector.get("Name") == "ShellId":
            shell_id = (selector.text or "").strip() or None
    return Request(
        operation=operation,
        action=action,
        message_id=(header.findtext("wsa:MessageID", "", NS) or "").strip(),
        resource_uri=(header.findtext("wsman:ResourceURI", "", NS) or "").strip(),
        shell_id=shell_id,
        body=body,
    )


def creation_xml(request: Request) -> tuple[str | None, bytes]:
    """A Create's shell id (as the client chose it) and the PSRP data of its creationXml."""
    shell = request.body.find("rsp:Shell", NS)
    if shell is None:
        raise WsmanFault(BAD_REQUEST, "The Create request has no Shell element.")
    return shell.get("ShellId"), _b64(shell.findtext("pwsh:creationXml", "", NS))


def command_line(request: Request) -> tuple[str, bytes]:
    """A Command's id and the PSRP data of its arguments."""
    cmd = request.body.find("rsp:CommandLine", NS)
    if cmd is None:
        raise WsmanFault(BAD_REQUEST, "The Command request has no CommandLine element.")
    data = b"".join(_b64(a.text) for a in cmd.iterfind("rsp:Arguments", NS))
    return (cmd.get("CommandId") or str(uuid.uuid4())).upper(), data


def sent(request: Request) -> tuple[str | None, bytes]:
    """A Send's command id (None: the shell's own) and its data."""
    stream = request.body.find("rsp:Send/rsp:Stream", NS)
    if stream is None:
        raise WsmanFault(BAD_REQUEST, "The Send request has no Stream element.")
    return _upper(stream.get("CommandId")), _b64(stream.text)


def received(request: Request) -> str | None:
    """Which command a Receive asks about (None: the shell's own stream)."""
    stream = request.body.find("rsp:Receive/rsp:DesiredStream", NS)
    return _upper(stream.get("CommandId")) if stream is not None else None


def signalled(request: Request) -> str | None:
    """Which command a Signal is for."""
    signal = request.body.find("rsp:Signal", NS)
    return _upper(signal.get("CommandId")) if signal is not None else None


def _upper(value: str | None) -> str | None:
    return value.upper() if value else None


def _b64(text: str | None) -> bytes:
    try:
        return base64.b64decode((text or "").strip(), validate=True)
    except ValueError:
        raise WsmanFault(BAD_REQUEST, "A stream carries data that is not base64.") from None


def _envelope(request_id: str, action: str) -> tuple[ET.Element, ET.Element]:
    envelope = ET.Element(_q("s", "Envelope"))
    header = ET.SubElement(envelope, _q("s", "Header"))
    ET.SubElement(header, _q("wsa", "Action")).text = action
    ET.SubElement(header, _q("wsa", "MessageID")).text = f"uuid:{uuid.uuid4()}".upper()
    ET.SubElement(header, _q("wsa", "To")).text = ANONYMOUS
    ET.SubElement(header, _q("wsa", "RelatesTo")).text = request_id
    return envelope, ET.SubElement(envelope, _q("s", "Body"))


def _bytes(envelope: ET.Element) -> bytes:
    data: bytes = ET.tostring(envelope, encoding="utf-8", xml_declaration=False)
    return data


def created(request: Request, address: str, shell_id: str, owner: str, client_ip: str) -> bytes:
    """The CreateResponse: the shell's address and selector, and the shell itself."""
    envelope, body = _envelope(request.message_id, request.action + "Response")
    resource = ET.SubElement(body, _q("wst", "ResourceCreated"))
    ET.SubElement(resource, _q("wsa", "Address")).text = address
    params = ET.SubElement(resource, _q("wsa", "ReferenceParameters"))
    ET.SubElement(params, _q("wsman", "ResourceURI")).text = request.resource_uri
    selectors = ET.SubElement(params, _q("wsman", "SelectorSet"))
    ET.SubElement(selectors, _q("wsman", "Selector"), Name="ShellId").text = shell_id
    shell = ET.SubElement(body, _q("rsp", "Shell"))
    for name, value in (
        ("ShellId", shell_id),
        ("ResourceUri", request.resource_uri),
        ("Owner", owner),
        ("ClientIP", client_ip),
        ("IdleTimeOut", "PT900.000S"),
        ("InputStreams", "stdin pr"),
        ("OutputStreams", "stdout"),
        ("ShellRunTime", "P0DT0H0M0S"),
        ("ShellInactivity", "P0DT0H0M0S"),
    ):
        ET.SubElement(shell, _q("rsp", name)).text = value
    return _bytes(envelope)


def command_started(request: Request, command_id: str) -> bytes:
    """The CommandResponse naming the command."""
    envelope, body = _envelope(request.message_id, request.action + "Response")
    response = ET.SubElement(body, _q("rsp", "CommandResponse"))
    ET.SubElement(response, _q("rsp", "CommandId")).text = command_id
    return _bytes(envelope)


def receive_answer(
    request: Request, chunks: list[bytes], command_id: str | None, done: bool
) -> bytes:
    """The ReceiveResponse: the stdout chunks, and the command's state when one was asked."""
    envelope, body = _envelope(request.message_id, request.action + "Response")
    response = ET.SubElement(body, _q("rsp", "ReceiveResponse"))
    for chunk in chunks:
        stream = ET.SubElement(response, _q("rsp", "Stream"), Name="stdout")
        if command_id:
            stream.set("CommandId", command_id)
        stream.text = base64.b64encode(chunk).decode()
    if command_id:
        ET.SubElement(
            response,
            _q("rsp", "CommandState"),
            CommandId=command_id,
            State=DONE if done else RUNNING,
        )
    return _bytes(envelope)


def empty_answer(request: Request, element: str | None) -> bytes:
    """A Send, Signal or Delete response (``element``: its body element, if any)."""
    envelope, body = _envelope(request.message_id, request.action + "Response")
    if element:
        ET.SubElement(body, _q("rsp", element))
    return _bytes(envelope)


def fault(fault_: WsmanFault, relates_to: str, machine: str) -> bytes:
    """A SOAP fault with the WSManFault detail WinRM sends (code, machine, message)."""
    envelope, body = _envelope(relates_to, "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault")
    soap_fault = ET.SubElement(body, _q("s", "Fault"))
    code = ET.SubElement(soap_fault, _q("s", "Code"))
    ET.SubElement(code, _q("s", "Value")).text = "s:Receiver"
    sub = ET.SubElement(code, _q("s", "Subcode"))
    ET.SubElement(sub, _q("s", "Value")).text = fault_.subcode
    reason = ET.SubElement(soap_fault, _q("s", "Reason"))
    ET.SubElement(reason, _q("s", "Text"), {"xml:lang": "en-US"}).text = fault_.message
    detail = ET.SubElement(soap_fault, _q("s", "Detail"))
    wsman_fault = ET.SubElement(
        detail, _q("wsmanfault", "WSManFault"), Code=str(fault_.code), Machine=machine
    )
    ET.SubElement(wsman_fault, _q("wsmanfault", "Message")).text = fault_.message
    return _bytes(envelope)


__all__ = ["Request", "WsmanFault", "parse"]
