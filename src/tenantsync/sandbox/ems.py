"""POST /PowerShell: an on-premises Exchange server's remote PowerShell endpoint
(configuration ``Microsoft.Exchange``), as WS-Management shells driving psrpcore's
server-side Runspace Pool and pipelines.

Basic authentication over HTTPS, as Exchange allows when it is enabled on the virtual
directory: the account ``svc-exchange@<the tenant's first domain>`` with the tenant's app
secret as its password (:func:`shell_account`); the UPN's domain picks the tenant. Kerberos
(Negotiate) when a keytab is given (:mod:`tenantsync.sandbox.ems_kerberos`). Like
Exchange's endpoint, the runspace runs in no-language mode: a pipeline may hold only
cmdlets with parameters; a script fails with ``ScriptsNotAllowed``. Each pipeline runs
one cmdlet of :mod:`tenantsync.sandbox.ems_cmdlets`. Faults apply per cmdlet as family
``ems.<CmdletName>``: 429/503 fail the pipeline with Exchange's transient AD error, 403
with an access-denied error, 404 write a not-found error (the pipeline completes).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from psrpcore import ServerPipeline, ServerRunspacePool
from psrpcore._payload import PSRPPayload, StreamType
from psrpcore.types import (
    ErrorCategory,
    ErrorCategoryInfo,
    ErrorRecord,
    NETException,
    PSInvocationState,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tenantsync.sandbox import wsman
from tenantsync.sandbox.ems_cmdlets import cmdlet_name, invoke
from tenantsync.sandbox.ems_kerberos import KerberosAcceptor
from tenantsync.sandbox.errors import ExchangeError
from tenantsync.sandbox.service import Sandbox
from tenantsync.sandbox.tenant import SandboxTenant

RESOURCE_URI = "http://schemas.microsoft.com/powershell/Microsoft.Exchange"
SERVER = "EX01"
CHUNK = 64 * 1024  # PSRP bytes per Receive, well inside the client's envelope
SCRIPTS_NOT_ALLOWED = (
    "The syntax is not supported by this runspace. This can occur if the runspace is in "
    "no-language mode."
)
TRANSIENT = (
    "Microsoft.Exchange.Data.Directory.ADTransientException",
    "Active Directory operation failed on DC01.corp.example. This error could have been "
    "caused by user input or by the Active Directory server being unavailable. Please retry "
    "at a later time. Additional information: The server is not operational.",
)


def shell_account(tenant: SandboxTenant) -> tuple[str, str]:
    """The (UPN, password) the endpoint accepts for a tenant."""
    return f"svc-exchange@{tenant.domains[0]}", tenant.client_secret


@dataclass
class Shell:
    """One WS-Management shell: a Runspace Pool, its pipelines and what waits to be read."""

    tenant: SandboxTenant
    pool: ServerRunspacePool
    waiting: dict[str | None, deque[bytes]] = field(default_factory=dict)
    pipelines: dict[str, ServerPipeline] = field(default_factory=dict)

    def feed(self, data: bytes, command_id: str | None) -> list[Any]:
        """Give the pool PSRP data and return the events it makes."""
        pid = uuid.UUID(command_id) if command_id else None
        self.pool.receive_data(PSRPPayload(data, StreamType.default, pid))
        events = []
        while (event := self.pool.next_event()) is not None:
            events.append(event)
        return events

    def drain(self) -> None:
        """Move what the pool wants to send into the queue of its target (pool or command)."""
        while (payload := self.pool.data_to_send(CHUNK)) is not None:
            key = str(payload.pipeline_id).upper() if payload.pipeline_id else None
            self.waiting.setdefault(key, deque()).append(payload.data)

    def take(self, command_id: str | None) -> list[bytes]:
        """What waits for a Receive of the pool or of one command, at most CHUNK bytes."""
        queue = self.waiting.get(command_id, deque())
        out: list[bytes] = []
        size = 0
        while queue and (not out or size + len(queue[0]) <= CHUNK):
            size += len(queue[0])
            out.append(queue.popleft())
        return out


@dataclass
class EmsHost:
    """The shells the endpoint holds, by shell id."""

    shells: dict[str, Shell] = field(default_factory=dict)


def _host(request: Request) -> EmsHost:
    state = request.app.state
    if not hasattr(state, "ems"):
        state.ems = EmsHost()
    host: EmsHost = state.ems
    return host


def _authenticate(request: Request, sandbox: Sandbox) -> SandboxTenant | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    tenant = sandbox.tenant(user.rpartition("@")[2]) if "@" in user else None
    if tenant is None or (user.lower(), password) != _lower(shell_account(tenant)):
        return None
    return tenant


def _lower(account: tuple[str, str]) -> tuple[str, str]:
    return account[0].lower(), account[1]


def _kerberos(request: Request, sandbox: Sandbox) -> tuple[SandboxTenant | None, str | None]:
    """The tenant of a Kerberos sign-in (this request's token, or its connection's earlier
    one) and the reply token to send back, when the endpoint accepts Kerberos."""
    acceptor: KerberosAcceptor | None = getattr(request.app.state, "ems_kerberos", None)
    if acceptor is None:
        return None, None
    domain, reply = acceptor.accept(request)
    if domain is None and not request.headers.get("authorization"):
        domain = acceptor.connection_account(request)
    return (sandbox.tenant(domain) if domain else None), reply


async def powershell(request: Request) -> Response:
    """POST /PowerShell: one WS-Management request."""
    sandbox: Sandbox = request.app.state.sandbox
    tenant = _authenticate(request, sandbox)
    reply = None
    if tenant is None:
        tenant, reply = _kerberos(request, sandbox)
    if tenant is None:
        return Response(
            b"", 401, {"WWW-Authenticate": 'Negotiate, Basic realm="ex01.corp.example"'}
        )
    raw = await request.body()
    parsed: wsman.Request | None = None
    try:
        parsed = wsman.parse(raw)
        body = await _serve(request, sandbox, tenant, parsed)
    except wsman.WsmanFault as exc:
        relates = parsed.message_id if parsed is not None else ""
        return _soap(wsman.fault(exc, relates, SERVER), 500, reply)
    return _soap(body, 200, reply)


def _soap(body: bytes, status: int, reply: str | None = None) -> Response:
    headers = {"WWW-Authenticate": reply} if reply else None
    return Response(body, status, headers, media_type="application/soap+xml;charset=UTF-8")


async def _serve(
    request: Request, sandbox: Sandbox, tenant: SandboxTenant, parsed: wsman.Request
) -> bytes:
    host = _host(request)
    if parsed.resource_uri.lower() != RESOURCE_URI.lower():
        raise wsman.WsmanFault(
            wsman.UNKNOWN_RESOURCE,
            "The WS-Management service cannot process the request. The resource URI "
            f"({parsed.resource_uri}) was not found in the WS-Management catalog.",
            "w:DestinationUnreachable",
        )
    if parsed.operation == "create":
        return _create(request, host, tenant, parsed)
    shell = host.shells.get((parsed.shell_id or "").upper())
    if shell is None:
        raise wsman.WsmanFault(
            wsman.UNKNOWN_SHELL,
            "The request for the Windows Remote Shell with ShellId "
            f"{parsed.shell_id} failed because the shell was not found on the server.",
        )
    if parsed.operation == "command":
        new_id, data = wsman.command_line(parsed)
        shell.pipelines[new_id] = ServerPipeline(shell.pool, uuid.UUID(new_id))
        await _run(request, sandbox, shell, shell.feed(data, new_id))
        shell.drain()
        return wsman.command_started(parsed, new_id)
    if parsed.operation == "send":
        target, data = wsman.sent(parsed)
        await _run(request, sandbox, shell, shell.feed(data, target))
        shell.drain()
        return wsman.empty_answer(parsed, "SendResponse")
    if parsed.operation == "receive":
        asked = wsman.received(parsed)
        chunks = shell.take(asked)
        pipeline = shell.pipelines.get(asked or "")
        finished = pipeline is not None and pipeline.state in _FINISHED
        done = finished and not shell.waiting.get(asked)
        return wsman.receive_answer(parsed, chunks, asked, done)
    if parsed.operation == "signal":
        signalled = wsman.signalled(parsed)
        ended = shell.pipelines.pop(signalled or "", None)
        if ended is not None and ended.state in _FINISHED:
            ended.close()
        shell.waiting.pop(signalled, None)
        return wsman.empty_answer(parsed, "SignalResponse")
    host.shells.pop(parsed.shell_id.upper() if parsed.shell_id else "", None)
    return wsman.empty_answer(parsed, None)


_FINISHED = (PSInvocationState.Completed, PSInvocationState.Failed, PSInvocationState.Stopped)


def _create(request: Request, host: EmsHost, tenant: SandboxTenant, parsed: wsman.Request) -> bytes:
    shell_id, data = wsman.creation_xml(parsed)
    shell_id = (shell_id or str(uuid.uuid4())).upper()
    shell = Shell(tenant, ServerRunspacePool())
    shell.feed(data, None)
    shell.drain()
    host.shells[shell_id] = shell
    owner = shell_account(tenant)[0]
    client = request.client.host if request.client else ""
    return wsman.created(parsed, str(request.url), shell_id, owner, client)


async def _run(request: Request, sandbox: Sandbox, shell: Shell, events: list[Any]) -> None:
    """Run each pipeline the events create (one cmdlet with parameters each)."""
    for event in events:
        if type(event).__name__ != "CreatePipelineEvent":
            continue
        pipeline = shell.pipelines[str(event.pipeline_id).upper()]
        pipeline.start()
        commands = event.pipeline.commands
        if any(c.is_script for c in commands):
            text = "; ".join(c.command_text for c in commands)
            _fail(
                pipeline,
                SCRIPTS_NOT_ALLOWED,
                "ScriptsNotAllowed",
                ErrorCategory.ParserError,
                ("System.Management.Automation.ParseException",),
                target=text,
            )
            continue
        if len(commands) != 1:
            _fail(
                pipeline,
                "The sandbox runs one cmdlet per pipeline.",
                "OnlyOneCmdlet",
                ErrorCategory.NotImplemented,
                ("System.NotSupportedException",),
            )
            continue
        command = commands[0]
        family = f"ems.{cmdlet_name(command.command_text)}"
        answer = await sandbox.gate_or_fault(request, family, shell.tenant.tenant_id)
        if answer is not None and answer.kind in ("429", "503"):
            _fail(
                pipeline,
                TRANSIENT[1],
                "ADTransientException",
                ErrorCategory.NotSpecified,
                (TRANSIENT[0],),
            )
            continue
        if answer is not None and answer.kind == "403":
            _fail(
                pipeline,
                f"The term '{command.command_text}' is not recognized as the name "
                "of a cmdlet: the account is not assigned a management role that has it.",
                "CommandNotFoundException",
                ErrorCategory.ObjectNotFound,
                ("System.Management.Automation.CommandNotFoundException",),
            )
            continue
        try:
            if answer is not None and answer.kind == "404":
                raise ExchangeError(
                    404,
                    "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
                    "The operation couldn't be performed because the object couldn't be found "
                    "on 'DC01.corp.example'.",
                )
            rows = invoke(shell.tenant, command.command_text, _parameters(command.parameters))
        except ExchangeError as exc:
            pipeline.write_error(
                _exception(exc.message, (exc.exception_type,)),
                ErrorCategoryInfo(
                    Category=ErrorCategory.NotSpecified,
                    Reason=exc.exception_type.rsplit(".", 1)[-1],
                ),
                fully_qualified_error_id=_error_id(exc.exception_type, command.command_text),
            )
            pipeline.complete()
            continue
        for row in rows:
            pipeline.write_output(row)
        pipeline.complete()


def _parameters(parameters: list[tuple[str | None, Any]]) -> dict[str, Any]:
    """Named parameters as given; a positional one is the Identity."""
    out: dict[str, Any] = {}
    for name, value in parameters:
        key = name or "Identity"
        out[key] = (
            [str(v) for v in value]
            if isinstance(value, list)
            else (None if value is None else str(value))
        )
    return out


def _exception(message: str, type_names: tuple[str, ...]) -> NETException:
    exception = NETException(Message=message)
    exception.PSObject.type_names = [*type_names, "System.Exception", "System.Object"]
    return exception


def _error_id(exception_type: str, cmdlet: str) -> str:
    stamp = datetime.now(UTC).strftime("%m/%d/%Y %I:%M:%S %p")
    task = "Microsoft.Exchange.Management.RecipientTasks." + cmdlet.replace("-", "")
    return (
        f"[Server={SERVER},RequestId={uuid.uuid4()},TimeStamp={stamp}] "
        f"[FailureCategory=Cmdlet-{exception_type.rsplit('.', 1)[-1]}] "
        f"{uuid.uuid4().hex[:8].upper()},{task}"
    )


def _fail(
    pipeline: ServerPipeline,
    message: str,
    error_id: str,
    category: ErrorCategory,
    type_names: tuple[str, ...],
    target: str | None = None,
) -> None:
    """End a pipeline as Failed with one terminating error, as a script or a cmdlet that
    throws ends it on Exchange."""
    record = ErrorRecord(
        Exception=_exception(message, type_names),
        CategoryInfo=ErrorCategoryInfo(Category=category, Reason=type_names[0].rsplit(".")[-1]),
        TargetObject=target,
        FullyQualifiedErrorId=error_id,
    )
    pipeline._change_state(PSInvocationState.Failed, error=record)


ROUTES = [
    Route("/PowerShell", powershell, methods=["POST"]),
    Route("/PowerShell/", powershell, methods=["POST"]),
    Route("/powershell", powershell, methods=["POST"]),
]

__all__ = ["RESOURCE_URI", "ROUTES", "EmsHost", "shell_account"]
