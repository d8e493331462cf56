"""A throwaway Samba Active Directory domain controller: provisioned from Debian's ``samba``
packages into a folder, listening on loopback (LDAP 389, LDAPS 636), with the Exchange
schema attributes an on-premises organization carries (:mod:`.samba_schema`).

Tests and ``bench/onprem.py`` provision one per session (``provision_samba``), load an
organization into its database while it is stopped (:mod:`.samba_org`, through Samba's own
``ldbadd``/``ldbmodify``: one transaction per file instead of one LDAP round trip and one
synchronous commit per object), start it (:meth:`SambaDC.start`) and stop it with
:meth:`SambaDC.stop`. Samba binds the standard LDAP ports, so one DC runs on a machine at
a time.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tenantsync.sandbox.tls import ensure_certificates

REALM = "CORP.EXAMPLE"
NETBIOS = "CORP"
HOST = "dc1"
ADMIN_PASSWORD = "Sandbox-Adm1n-Pass"
LOOPBACK = "127.0.0.1"
SERVICES = "ldap kdc"


@dataclass
class SambaDC:
    """A running domain controller and what a client needs to reach it."""

    root: Path
    ca_file: Path
    process: subprocess.Popen[bytes] | None = None
    host: str = LOOPBACK
    realm: str = REALM
    netbios: str = NETBIOS

    @property
    def base_dn(self) -> str:
        """The domain naming context."""
        return ",".join(f"DC={part}" for part in self.realm.lower().split("."))

    @property
    def admin_user(self) -> str:
        """The domain administrator, as a down-level logon name."""
        return f"{self.netbios}\\Administrator"

    @property
    def admin_password(self) -> str:
        """The administrator's password (a throwaway domain's)."""
        return ADMIN_PASSWORD

    @property
    def log(self) -> str:
        """What Samba printed so far (for a failure message)."""
        path = self.root / "samba.out"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    @property
    def database(self) -> Path:
        """The domain's database (``sam.ldb``), written to directly only while stopped."""
        return self.root / "private" / "sam.ldb"

    @property
    def config(self) -> Path:
        """The DC's smb.conf."""
        return self.root / "etc" / "smb.conf"

    @property
    def fqdn(self) -> str:
        """The DC's DNS name (its LDAP service principal is ``ldap/`` this)."""
        return f"{HOST}.{self.realm.lower()}"

    def kerberos_config(self) -> Path:
        """A krb5.conf naming this DC as its realm's KDC, no DNS asked (``KRB5_CONFIG``)."""
        path = self.root / "krb5.conf"
        path.write_text(
            "[libdefaults]\n"
            f"    default_realm = {self.realm}\n"
            "    dns_lookup_realm = false\n    dns_lookup_kdc = false\n"
            "    rdns = false\n    dns_canonicalize_hostname = false\n"
            f"[realms]\n    {self.realm} = {{\n        kdc = {LOOPBACK}\n    }}\n"
            f"[domain_realm]\n    .{self.realm.lower()} = {self.realm}\n",
            encoding="utf-8",
        )
        return path

    def export_keytab(self, principal: str, path: Path) -> Path:
        """A keytab with the keys of ``principal`` (``svc`` or ``HTTP/host``; the realm is
        the DC's), as ``samba-tool domain exportkeytab`` writes it."""
        self._tool("domain", "exportkeytab", str(path), f"--principal={principal}@{self.realm}")
        if not path.exists():
            raise RuntimeError(f"exportkeytab wrote no {path}")
        return path

    def add_service_account(self, name: str, password: str, principals: list[str]) -> None:
        """An account a service runs as (say Exchange's web server) with these service
        principal names, so the KDC issues tickets for them under its keys."""
        self._tool("user", "create", name, password)
        for spn in principals:
            self._tool("spn", "add", spn, name)

    def _tool(self, *args: str) -> None:
        _samba, tool = samba_binaries()
        done = subprocess.run(
            [tool, *args, "-s", str(self.config)], capture_output=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"samba-tool {args[0]} {args[1]} failed: {done.stderr[-2000:]!r}")

    def start(self, *, timeout: float = 60) -> None:
        """Start the DC and wait until LDAPS answers; RuntimeError with its log otherwise."""
        samba, _tool = samba_binaries()
        self.process = subprocess.Popen(
            [samba, "-i", "-M", "single", "-s", str(self.config)],
            stdout=(self.root / "samba.out").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not _listening(636):
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self.log
                self.stop()
                raise RuntimeError(f"Samba did not start listening on 636: {log}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def samba_binaries() -> tuple[str, str]:
    """``samba`` and ``samba-tool``; RuntimeError naming the missing package otherwise."""
    samba, tool = shutil.which("samba"), shutil.which("samba-tool")
    if not samba or not tool:
        raise RuntimeError(
            "no Samba AD DC binaries (samba, samba-tool): install the Debian packages "
            "samba, samba-ad-dc and samba-ad-provision"
        )
    if not Path("/usr/share/samba/setup/ad-schema").is_dir():
        raise RuntimeError("Samba's AD schema files are missing: install samba-ad-provision")
    if not (shutil.which("ldbadd") and shutil.which("ldbmodify")):
        raise RuntimeError("no ldbadd/ldbmodify to load the domain: install ldb-tools")
    return samba, tool


def provision_samba() -> SambaDC:
    """Provision a domain in a new folder (not started); RuntimeError saying why not."""
    _samba, tool = samba_binaries()
    if os.geteuid() != 0:
        raise RuntimeError("a Samba DC binds the LDAP ports 389 and 636: it needs root")
    for port in (389, 636):
        if _listening(port):
            raise RuntimeError(f"port {port} on {LOOPBACK} is taken (another DC is running)")
    root = Path(tempfile.mkdtemp(prefix="tenantsync-samba-"))
    try:
        _provision(tool, root)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return SambaDC(root=root, ca_file=root / "tls" / "sandbox-ca.pem")


def _provision(tool: str, root: Path) -> None:
    tls = ensure_certificates(root / "tls", [LOOPBACK, "localhost", f"{HOST}.{REALM.lower()}"])
    options = {
        "interfaces": LOOPBACK,
        "bind interfaces only": "yes",
        "server services": SERVICES,
        # As Active Directory (and Samba 4.20 on) does: a Kerberos bind over TLS needs no
        # SASL signing of its own; simple binds still need TLS.
        "ldap server require strong auth": "allow_sasl_over_tls",
        "dsdb:schema update allowed": "true",
        "pid directory": str(root),
        "log file": str(root / "log"),
        "ntp signd socket directory": str(root / "ntp"),
        "tls enabled": "yes",
        "tls certfile": str(tls.cert_file),
        "tls keyfile": str(tls.key_file),
        "tls cafile": str(tls.ca_file),
    }
    command = [
        tool,
        "domain",
        "provision",
        f"--realm={REALM}",
        f"--domain={NETBIOS}",
        "--server-role=dc",
        "--dns-backend=NONE",
        f"--host-name={HOST}",
        f"--host-ip={LOOPBACK}",
        f"--adminpass={ADMIN_PASSWORD}",
        f"--targetdir={root}",
        *(f"--option={key}={value}" for key, value in options.items()),
    ]
    done = subprocess.run(command, capture_output=True, check=False, cwd=root)
    if done.returncode != 0:
        raise RuntimeError(f"samba-tool domain provision failed: {done.stdout[-2000:]!r}")
    # A Windows DC registers its LDAP service principal; a provisioned Samba DC has only
    # host/ ones, and its KDC does not map ldap/ to them.
    spn = [tool, "spn", "add", f"ldap/{HOST}.{REALM.lower()}", f"{HOST.upper()}$"]
    done = subprocess.run(
        [*spn, f"-H{root / 'private' / 'sam.ldb'}"], capture_output=True, check=False, cwd=root
    )
    if done.returncode != 0:
        raise RuntimeError(f"samba-tool spn add failed: {done.stdout[-2000:]!r}")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((LOOPBACK, port)) == 0


__all__ = ["SambaDC", "provision_samba", "samba_binaries"]
