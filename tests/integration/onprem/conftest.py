"""One Samba AD domain controller per test session, provisioned into a throwaway folder,
its schema extended with Exchange's attributes and loaded once with a generated
organization. Outside CI the tests skip (saying why) when Samba is missing; with CI=true
that is a failure."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from ldap3 import Connection, Server, Tls

from tenantsync.sandbox import (
    SandboxTenant,
    ServedSandbox,
    create_app,
    generate_tenant,
    serve_in_thread,
)
from tenantsync.sandbox.samba import SambaDC, provision_samba
from tenantsync.sandbox.samba_org import LoadedOrganization, load_organization
from tests.conftest import IN_CI

MAILBOXES = 120


@dataclass
class OnPrem:
    """The running DC, the organization generated and where it was loaded."""

    dc: SambaDC
    tenant: SandboxTenant
    org: LoadedOrganization

    def admin(self) -> Connection:
        """A fresh administrator connection (it reads the extended schema)."""
        tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(self.dc.ca_file))
        server = Server(self.dc.host, port=636, use_ssl=True, tls=tls)
        return Connection(
            server, user=self.dc.admin_user, password=self.dc.admin_password, auto_bind=True
        )

    def params(self, user: str | None = None) -> dict[str, object]:
        """An exchange_onprem connection's parameters for this DC."""
        return {
            "server": self.dc.host,
            "ca_file": str(self.dc.ca_file),
            "bind_user": user or self.org.service_user,
        }


@pytest.fixture(scope="session")
def onprem() -> Iterator[OnPrem]:
    try:
        dc = provision_samba()
    except (RuntimeError, OSError) as exc:
        if IN_CI:
            pytest.fail(f"CI=true but the Samba DC could not be started: {exc}")
        pytest.skip(f"on-premises (Samba) tests skipped: {exc}")
    try:
        tenant = generate_tenant(MAILBOXES, seed=15)
        org = load_organization(dc, tenant)
        dc.start()
        yield OnPrem(dc, tenant, org)
    finally:
        dc.stop()


@pytest.fixture
def ems_sandbox(onprem: OnPrem, tmp_path: Path) -> Iterator[ServedSandbox]:
    """The sandbox serving the DC's organization, for its Exchange Management Shell."""
    app = create_app(onprem.tenant, latency=0)
    with serve_in_thread(app, data_dir=tmp_path / "sandbox") as served:
        yield served
