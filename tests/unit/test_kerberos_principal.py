"""How a Kerberos bind names its account: account@REALM, the realm upper-cased as Active
Directory's is; a down-level name is refused by field before anything is sent."""

from __future__ import annotations

import pytest

from tenantsync.connectors.onprem.kerberos import principal_of
from tenantsync.connectors.onprem.kind import OnPremParams
from tenantsync.errors import ConfigError


@pytest.mark.parametrize(
    ("given", "principal"),
    [
        ("svc-tenantsync@corp.example", "svc-tenantsync@CORP.EXAMPLE"),
        ("svc-tenantsync@CORP.EXAMPLE", "svc-tenantsync@CORP.EXAMPLE"),
        (None, None),
    ],
)
def test_the_realm_is_the_domain_upper_cased(given: str | None, principal: str | None) -> None:
    assert principal_of(given) == principal


@pytest.mark.parametrize("given", ["CORP\\svc-tenantsync", "svc-tenantsync", "@corp.example"])
def test_a_name_kerberos_cannot_use_is_refused_naming_the_field(given: str) -> None:
    with pytest.raises(ConfigError) as raised:
        principal_of(given)
    assert raised.value.field == "bind_user" and "account@REALM" in str(raised.value)


def test_a_kerberos_connection_with_a_down_level_bind_user_is_not_saved() -> None:
    with pytest.raises(ValueError, match=r"bind_user: .*account@REALM"):
        OnPremParams(server="dc1.corp.example", auth="kerberos", bind_user="CORP\\svc")
    # A simple bind keeps the down-level form.
    assert OnPremParams(server="dc1.corp.example", bind_user="CORP\\svc").bind_user == "CORP\\svc"
