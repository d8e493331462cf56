"""Definition options: bad rules are refused when saved, with the rule and problem named."""

from __future__ import annotations

import pytest

from tenantsync.engine.registry import Registry
from tenantsync.engine.user_sync import DEFINITION_TYPE, UserSyncOptions
from tenantsync.errors import ConfigError


def validate(options: dict[str, object]) -> UserSyncOptions:
    parsed = Registry([DEFINITION_TYPE]).validate_options("user_sync", options)
    assert isinstance(parsed, UserSyncOptions)
    return parsed


def refused(options: dict[str, object]) -> str:
    with pytest.raises(ConfigError) as caught:
        validate(options)
    return str(caught.value)


def test_defaults_sync_enabled_members_and_stop_mass_removals() -> None:
    options = validate({})
    assert options.include_disabled is False
    assert options.include_guests is False
    assert options.max_removals == 500
    assert options.max_removal_percent == 10.0
    assert options.full_reconciliation_hours == 24.0


def test_a_valid_rule_list_is_accepted_in_order() -> None:
    options = validate(
        {
            "domains": ["Contoso.com"],
            "rules": [
                {
                    "field": "department",
                    "operator": "equals",
                    "value": "Sales",
                    "policy_group": "Sales",
                },
                {"field": "userType", "operator": "equals", "value": "Guest", "exclude": True},
                {
                    "field": "memberOf",
                    "operator": "member-of",
                    "value": "Finance",
                    "policy_group": "F",
                },
                {"field": "jobTitle", "operator": "is-empty", "policy_group": "No title"},
            ],
        }
    )
    assert options.domains == ["contoso.com"]
    assert [r.field for r in options.rules] == ["department", "userType", "memberOf", "jobTitle"]
    assert options.uses_membership()


def test_unknown_field_names_the_rule_and_lists_the_fields() -> None:
    message = refused(
        {
            "rules": [
                {
                    "name": "sales",
                    "field": "office",
                    "operator": "equals",
                    "value": "x",
                    "exclude": True,
                }
            ]
        }
    )
    assert "rule 1 (sales)" in message
    assert "unknown field 'office'" in message
    assert "department" in message


def test_invalid_regular_expression_is_refused() -> None:
    message = refused(
        {
            "rules": [
                {"field": "mail", "operator": "equals", "value": "a@b.c", "exclude": True},
                {
                    "field": "displayName",
                    "operator": "matches",
                    "value": "([a-z",
                    "policy_group": "X",
                },
            ]
        }
    )
    assert "rule 2" in message
    assert "invalid regular expression '([a-z'" in message


def test_a_rule_needs_exactly_one_destination() -> None:
    both = refused(
        {
            "rules": [
                {
                    "field": "mail",
                    "operator": "contains",
                    "value": "x",
                    "policy_group": "A",
                    "exclude": True,
                }
            ]
        }
    )
    neither = refused({"rules": [{"field": "mail", "operator": "contains", "value": "x"}]})
    assert "exactly one of policy_group or exclude" in both
    assert "exactly one of policy_group or exclude" in neither


def test_unknown_operator_and_missing_value_are_named() -> None:
    assert "unknown operator 'like'" in refused(
        {"rules": [{"field": "mail", "operator": "like", "value": "x", "exclude": True}]}
    )
    assert "operator contains needs a value" in refused(
        {"rules": [{"field": "mail", "operator": "contains", "exclude": True}]}
    )
    assert "member-of needs field memberOf" in refused(
        {"rules": [{"field": "mail", "operator": "member-of", "value": "g", "exclude": True}]}
    )


def test_onmicrosoft_and_malformed_domains_are_refused() -> None:
    assert "never synced" in refused({"domains": ["contoso.onmicrosoft.com"]})
    assert "not a domain name" in refused({"domains": ["not a domain"]})


def test_unknown_options_are_refused_by_name() -> None:
    assert "options.include_everyone" in refused({"include_everyone": True})
