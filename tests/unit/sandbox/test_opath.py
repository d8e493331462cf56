"""Exchange's OPATH filters (RecipientFilter, -Filter) evaluate like Exchange's."""

from __future__ import annotations

import pytest

from tenantsync.sandbox.opath import OpathError, compile_filter

# The evaluator reads properties by lower-case name (as `filter_properties` builds them).
PROPS = {
    "department": "Sales",
    "recipienttypedetails": "UserMailbox",
    "emailaddresses": ["SMTP:ana@contoso.com", "smtp:ana@contoso.onmicrosoft.com"],
    "customattribute1": None,
    "hiddenfromaddresslistsenabled": False,
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Department -eq 'Sales'", True),
        ("department -eq 'sales'", True),
        ("Department -ne 'Sales'", False),
        ("(RecipientTypeDetails -eq 'UserMailbox') -and (Department -like 'Sa*')", True),
        ("Department -eq 'HR' -or Department -eq 'Sales'", True),
        ("-not (Department -eq 'Sales')", False),
        ("EmailAddresses -like '*@contoso.onmicrosoft.com'", True),
        ("CustomAttribute1 -eq $null", True),
        ("HiddenFromAddressListsEnabled -eq $false", True),
        ("Department -notlike 'S*'", False),
    ],
)
def test_filters_match_as_exchange_does(text: str, expected: bool) -> None:
    assert compile_filter(text)(PROPS) is expected


def test_an_unparseable_filter_is_refused() -> None:
    with pytest.raises(OpathError):
        compile_filter("Department -eq")
