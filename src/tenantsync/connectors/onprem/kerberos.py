"""Kerberos credentials for a bind to the domain controller (SASL GSSAPI), in one of three
ways: from the service account's password (stored encrypted like a simple bind's, a ticket
asked for in memory, nothing written to disk), from a keytab file, or the service's own
ticket cache (``KRB5CCNAME``, kept fresh by the host, e.g. ``k5start``).

The realm's KDCs come from the host's Kerberos configuration (``/etc/krb5.conf`` or
``KRB5_CONFIG``, or DNS). The ``gssapi`` package (MIT Kerberos) is optional: without it a
Kerberos connection says what to install.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from tenantsync.errors import AuthError, ConfigError

_caches = itertools.count(1)


def principal_of(bind_user: str | None) -> str | None:
    """The account's Kerberos principal: ``account@REALM`` (an AD realm is its DNS domain
    upper-cased, so ``svc@corp.example`` means ``svc@CORP.EXAMPLE``). A down-level name
    (``CORP\\svc``) is refused: Kerberos does not know NetBIOS domains."""
    if not bind_user:
        return None
    if "\\" in bind_user:
        raise ConfigError(
            f"a Kerberos bind names its account as account@REALM, not {bind_user!r}",
            field="bind_user",
        )
    account, at, realm = bind_user.rpartition("@")
    if not at or not account or not realm:
        raise ConfigError(
            f"a Kerberos bind names its account as account@REALM, not {bind_user!r}",
            field="bind_user",
        )
    return f"{account}@{realm.upper()}"


def credentials(bind_user: str | None, password: str | None, keytab: str | None) -> Any:
    """GSSAPI initiator credentials for ``bind_user``, or None for the process's default
    ticket cache; AuthError when the KDC refuses the password, ConfigError for a keytab
    that cannot be read or credentials without an account."""
    gssapi = need_gssapi()
    principal = principal_of(bind_user)
    if principal is None:
        if password or keytab:
            raise ConfigError(
                "a Kerberos bind with a password or keytab needs bind_user (account@REALM)",
                field="bind_user",
            )
        return None
    name = gssapi.Name(principal, gssapi.NameType.user)
    try:
        if keytab:
            if not Path(keytab).is_file():
                raise ConfigError(f"the keytab {keytab} is not a readable file", field="keytab")
            # Tickets got from the keytab stay in this process's memory.
            store = {"client_keytab": keytab, "ccache": f"MEMORY:tenantsync-{next(_caches)}"}
            creds = gssapi.Credentials(name=name, usage="initiate", store=store)
            creds.inquire()  # asks the KDC now, so a refusal is this call's
            return creds
        if password:
            raw = gssapi.raw.acquire_cred_with_password(name, password.encode(), usage="initiate")
            return raw.creds
        return gssapi.Credentials(name=name, usage="initiate")
    except gssapi.exceptions.GSSError as exc:
        raise AuthError(f"no Kerberos ticket for {principal}: {gss_text(exc)}") from None


def need_gssapi(*, with_krb5: bool = False) -> Any:
    """The gssapi module (and, for the Management Shell's client, pyspnego's krb5), or a
    ConfigError saying how to get them."""
    try:
        import gssapi

        if with_krb5:
            import krb5  # noqa: F401
    except ImportError:
        raise ConfigError(
            "Kerberos binds need the gssapi package: pip install 'tenantsync[kerberos]' "
            "(it builds against MIT Kerberos: Debian's libkrb5-dev)",
            field="auth",
        ) from None
    return gssapi


def gss_errors() -> tuple[type[BaseException], ...]:
    """What gssapi raises (nothing when it is not installed), for an ``except`` clause."""
    try:
        from gssapi.raw.misc import GSSError
    except ImportError:
        return ()
    return (GSSError,)


def gss_text(exc: BaseException) -> str:
    """What Kerberos said: the minor status's text (``Preauthentication failed``, ``Server
    not found in Kerberos database``), else the whole message."""
    text = " ".join(str(exc).split())
    _major, sep, minor = text.rpartition("Minor (")
    reason = minor.split("): ", 1)[-1] if sep else ""
    return reason if reason and reason.lower() != "unknown error" else text


__all__ = ["credentials", "gss_errors", "gss_text", "need_gssapi", "principal_of"]
