"""The canonical name Exchange's cmdlets show for an object, from its DN: how a Send on
Behalf delegate the Management Shell names is found among mailboxes synced from the DC."""

from __future__ import annotations

import pytest

from tenantsync.model.canonical import canonical_name


@pytest.mark.parametrize(
    ("dn", "canonical"),
    [
        ("CN=Adele Vance,CN=Users,DC=contoso,DC=com", "contoso.com/Users/Adele Vance"),
        (
            "CN=jdoe,OU=People,OU=Tenantsync,DC=corp,DC=example",
            "corp.example/Tenantsync/People/jdoe",
        ),
        # The DN's escapes are undone, in either form, UTF-8 pairs included.
        (r"CN=Smith\, John,OU=Staff,DC=corp,DC=example", "corp.example/Staff/Smith, John"),
        (r"CN=J\C3\BCrgen,OU=Staff,DC=corp,DC=example", "corp.example/Staff/Jürgen"),
        # A slash in a name is escaped, so the path still splits where Exchange splits it.
        (r"CN=Sales/EMEA,OU=Groups,DC=corp,DC=example", r"corp.example/Groups/Sales\/EMEA"),
        ("cn=lower,ou=case,dc=corp,dc=example", "corp.example/case/lower"),
    ],
)
def test_a_dn_is_shown_as_exchange_shows_it(dn: str, canonical: str) -> None:
    assert canonical_name(dn) == canonical


@pytest.mark.parametrize("text", ["CORP\\jdoe", "jdoe@corp.example", "CN=jdoe,OU=People", ""])
def test_text_that_is_not_a_domain_dn_has_no_canonical_name(text: str) -> None:
    assert canonical_name(text) is None
