"""The on-premises Exchange connection kind: an Active Directory domain controller reached
over LDAPS or StartTLS, read as a service account (its password encrypted at rest) or
with Kerberos. It serves user sync, permission sync and the connection check.

:class:`OnPremParams` is the one shape of an ``exchange_onprem`` connection's parameters;
its health check (``checks``) says line by line what answers and what is missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from tenantsync.connectors.http import HttpOptions, httpx
from tenantsync.connectors.kind import ConnectionKind, SecretField
from tenantsync.connectors.m365 import OptionalText, Text
from tenantsync.connectors.onprem.checks import CHECKS, checks_for
from tenantsync.connectors.onprem.ems import EmsPermissionReader, ManagementShell, ShellEndpoint
from tenantsync.connectors.onprem.entries import Entry
from tenantsync.connectors.onprem.kerberos import principal_of
from tenantsync.connectors.onprem.ldap import Endpoint, Ldap
from tenantsync.errors import ConfigError, SourceError

if TYPE_CHECKING:
    from tenantsync.connectors.loop import LoopThread
    from tenantsync.connectors.onprem.directory import OnPremDirectory
    from tenantsync.connectors.onprem.permissions import OnPremPermissionReader


# Fields a form shows only when they matter: the Shell's with permission_path ems, the
# Kerberos ones with auth kerberos.
FOR_SHELL: dict[str, Any] = {"shown_when": {"permission_path": "ems"}}
FOR_KERBEROS: dict[str, Any] = {"shown_when": {"auth": "kerberos"}}

# Runspace Pools one connection opens at most (Exchange allows a user 18 by default).
SHELLS_AT_MOST = 8


def _one_of(*allowed: str) -> AfterValidator:
    def check(value: str) -> str:
        if value.lower() not in allowed:
            raise ValueError(f"must be one of: {', '.join(allowed)}")
        return value.lower()

    return AfterValidator(check)


class OnPremParams(BaseModel):
    """Where the domain controller is, how it is reached, and as whom."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    server: Text = Field(
        title="Domain controller", description="its DNS name, as its certificate names it"
    )
    tls: Annotated[Text, _one_of("ldaps", "starttls")] = Field(
        "ldaps", title="TLS", description="ldaps (port 636) or starttls (port 389)"
    )
    port: int | None = Field(None, ge=1, le=65535, title="Port", description="empty: 636 or 389")
    ca_file: OptionalText = Field(None, title="CA file (for a private certificate authority)")
    auth: Annotated[Text, _one_of("simple", "kerberos")] = Field(
        "simple",
        title="Sign-in",
        description="simple (bind user and password) or kerberos (the password, a keytab, "
        "or the service's own ticket cache)",
    )
    bind_user: OptionalText = Field(
        None,
        title="Bind user",
        description="DOMAIN\\account or account@domain; for kerberos account@REALM (empty: "
        "the ticket cache's)",
    )
    keytab: OptionalText = Field(
        None,
        title="Keytab (kerberos)",
        description="a keytab file holding the bind user's keys",
        json_schema_extra=FOR_KERBEROS,
    )
    kerberos_host: OptionalText = Field(
        None,
        title="DC host name for Kerberos",
        description="its name in the DC's service principal ldap/NAME (empty: the server)",
        json_schema_extra=FOR_KERBEROS,
    )
    base_dn: OptionalText = Field(None, title="Base DN", description="empty: the DC's domain")
    netbios_domain: OptionalText = Field(
        None, title="NetBIOS domain", description="empty: read from the directory"
    )
    page_size: int = Field(1000, ge=10, le=5000, title="Page size")
    permission_path: Annotated[Text, _one_of("ad", "ems")] = Field(
        "ad",
        title="Permissions read from",
        description="ad (the domain controller's descriptors) or ems (the Exchange Management "
        "Shell: Get-MailboxPermission, Get-ADPermission, Get-Mailbox)",
    )
    ems_url: OptionalText = Field(
        None,
        title="Management Shell URL",
        description="http(s)://SERVER/PowerShell",
        json_schema_extra=FOR_SHELL,
    )
    ems_auth: Annotated[Text, _one_of("kerberos", "basic")] = Field(
        "kerberos",
        title="Management Shell sign-in",
        description="kerberos or basic (https only)",
        json_schema_extra=FOR_SHELL,
    )
    ems_user: OptionalText = Field(
        None,
        title="Management Shell user",
        description="account@domain (UPN form)",
        json_schema_extra=FOR_SHELL,
    )
    ems_ca_file: OptionalText = Field(
        None, title="Management Shell CA file", json_schema_extra=FOR_SHELL
    )
    ems_kerberos_host: OptionalText = Field(
        None,
        title="Exchange server name for Kerberos",
        description="its name in the service principal HTTP/NAME (empty: the URL's host)",
        json_schema_extra=FOR_SHELL,
    )

    @model_validator(mode="after")
    def _accounts_and_endpoints(self) -> OnPremParams:
        """What can be told wrong before anything is sent: a Kerberos account not in
        account@REALM form, and the Shell path's rules (a URL, a UPN, Basic over https)."""
        if self.auth == "kerberos":
            try:
                principal_of(self.bind_user)
            except ConfigError as exc:
                raise ValueError(f"bind_user: {exc}") from None
        problem = _shell_problem(self)
        if problem is not None:
            raise ValueError(problem)
        return self

    def shell_endpoint(self, password: str | None) -> ShellEndpoint:
        """Where the Management Shell is and as whom."""
        if not self.ems_url:
            raise ConfigError(
                "reading permissions through the Shell needs ems_url", field="ems_url"
            )
        return ShellEndpoint(
            url=self.ems_url,
            auth=self.ems_auth,
            user=self.ems_user,
            password=password,
            ca_file=self.ems_ca_file,
            spn_host=self.ems_kerberos_host,
        )

    def endpoint(self) -> Endpoint:
        """Where and as whom to connect."""
        starttls = self.tls == "starttls"
        return Endpoint(
            server=self.server,
            port=self.port or (389 if starttls else 636),
            starttls=starttls,
            ca_file=self.ca_file,
            user=self.bind_user,
            kerberos=self.auth == "kerberos",
            keytab=self.keytab,
            spn_host=self.kerberos_host,
        )


class OnPremConnector:
    """One DC connection shared by the directory and permission sources of a run."""

    def __init__(
        self, params: OnPremParams, password: str | None, ems_password: str | None = None
    ) -> None:
        self.params = params
        self.ldap = Ldap(params.endpoint(), password)
        self.ems_password = ems_password
        self._shells: list[ManagementShell] = []
        self._base_dn = params.base_dn
        self._netbios = params.netbios_domain

    async def __aenter__(self) -> OnPremConnector:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.ldap.close)
        for shell in self._shells:
            await asyncio.to_thread(shell.close)

    def shell(self) -> ManagementShell:
        """The connection's Exchange Management Shell (opened on its first cmdlet)."""
        return self.shells(1)[0]

    def shells(self, count: int) -> list[ManagementShell]:
        """``count`` Management Shells (Runspace Pools), each opened on its first cmdlet;
        at most SHELLS_AT_MOST, under Exchange's default of 18 per user."""
        endpoint = self.params.shell_endpoint(self.ems_password)
        while len(self._shells) < max(1, min(count, SHELLS_AT_MOST)):
            self._shells.append(ManagementShell(endpoint))
        return self._shells[: max(1, min(count, SHELLS_AT_MOST))]

    def base_dn(self) -> str:
        """The domain's naming context: as configured, else the DC's default one."""
        if self._base_dn is None:
            root = self.ldap.search("", "(objectClass=*)", ["defaultNamingContext"], scope="BASE")
            found = Entry(root[0]).text("defaultNamingContext") if root else None
            if not found:
                raise SourceError("the DC did not name its domain (defaultNamingContext)")
            self._base_dn = found
        return self._base_dn

    def netbios(self) -> str:
        """The domain's NetBIOS name, the prefix Exchange shows trustees with."""
        if self._netbios is None:
            base = self.base_dn()
            found = self.ldap.search(
                f"CN=Partitions,CN=Configuration,{base}",
                f"(&(nETBIOSName=*)(nCName={base}))",
                ["nETBIOSName"],
            )
            self._netbios = (Entry(found[0]).text("nETBIOSName") if found else None) or (
                base.split(",")[0].split("=")[-1].upper()
            )
        return self._netbios

    def directory_source(self) -> OnPremDirectory:
        """The domain's users, mailboxes and groups."""
        from tenantsync.connectors.onprem.directory import OnPremDirectory

        return OnPremDirectory(self.ldap, self.base_dn(), self.params.page_size)

    def permission_paths(self) -> tuple[OnPremPermissionReader, EmsPermissionReader]:
        """Both readers, whichever path the runs take: the DC's descriptors and the Shell
        (ConfigError when the connection names no ems_url)."""
        from tenantsync.connectors.onprem.permissions import OnPremPermissionReader

        ad = OnPremPermissionReader(
            self.ldap, self.base_dn(), self.netbios(), self.params.page_size
        )
        return ad, EmsPermissionReader(self.shells(1))

    def permission_source(
        self, loop: LoopThread, concurrency: int
    ) -> OnPremPermissionReader | EmsPermissionReader:
        """The mailboxes' permissions: in their AD form, or as the Shell reports them."""
        from tenantsync.connectors.onprem.permissions import OnPremPermissionReader

        if self.params.permission_path == "ems":
            return EmsPermissionReader(self.shells(concurrency))
        return OnPremPermissionReader(
            self.ldap, self.base_dn(), self.netbios(), self.params.page_size
        )


def _connect(
    params: OnPremParams,
    secret: Mapping[str, str],
    transport: httpx.AsyncBaseTransport | None,
    http_options: HttpOptions | None,
) -> OnPremConnector:
    if params.auth == "simple" and not (params.bind_user and secret.get("password")):
        raise ConfigError("a simple bind needs bind_user and a password", field="bind_user")
    if params.permission_path == "ems":
        _check_shell(params, secret)
    return OnPremConnector(params, secret.get("password"), secret.get("ems_password"))


def _shell_problem(params: OnPremParams) -> str | None:
    """The Shell path's own rules, as ``field: why``: a URL when the path is taken, an
    http(s) one, a UPN-form user, Basic only with a user and only over https."""
    url = params.ems_url
    if url is None:
        if params.permission_path == "ems":
            return "ems_url: reading permissions through the Shell needs ems_url"
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return f"ems_url: {url!r} is not an http(s) URL"
    if params.ems_user is not None and "@" not in params.ems_user:
        return "ems_user: the Management Shell user must be in UPN form (account@domain)"
    if params.ems_auth == "basic":
        if parts.scheme.lower() != "https":
            return "ems_url: Basic sign-in is sent only over https"
        if params.permission_path == "ems" and not params.ems_user:
            return "ems_user: Basic sign-in needs ems_user"
    return None


def _check_shell(params: OnPremParams, secret: Mapping[str, str]) -> None:
    """What only the secret can tell: Basic needs the Shell's password (the rest of the
    Shell path's rules hold for any stored parameters, see _shell_problem)."""
    if params.ems_auth == "basic" and not secret.get("ems_password"):
        raise ConfigError("Basic sign-in needs ems_user and its password", field="ems_password")


# Where each password goes: the bind password to the DC, the Shell's to the Exchange server.
DC_FIELDS = ("server", "tls", "port", "ca_file", "auth", "bind_user", "kerberos_host")
SHELL_FIELDS = ("ems_url", "ems_auth", "ems_user", "ems_ca_file", "ems_kerberos_host")

EXCHANGE_ONPREM: ConnectionKind[Any, Any] = ConnectionKind(
    name="exchange_onprem",
    title="On-premises Exchange (Active Directory)",
    params_model=OnPremParams,
    secret_fields=(
        SecretField("password", "bind password", bound_to=DC_FIELDS),
        SecretField(
            "ems_password",
            "Management Shell password",
            help="for basic sign-in (or Kerberos with a password)",
            bound_to=SHELL_FIELDS,
            shown_when=("permission_path", "ems"),
        ),
    ),
    # Each password is sent only to its endpoint, over its TLS, as its account.
    endpoint_fields=(*DC_FIELDS, *SHELL_FIELDS),
    serves=frozenset({"user_sync", "mailbox_permission_sync", "connection_check"}),
    checks=CHECKS,
    checks_for=checks_for,
    connector_type=OnPremConnector,
    connect=_connect,
    secret_required=False,
)

__all__ = ["EXCHANGE_ONPREM", "OnPremConnector", "OnPremParams"]
