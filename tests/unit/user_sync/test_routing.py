"""Which users are synced, with which addresses, into which policy group, and why."""

from __future__ import annotations

from tenantsync.engine.user_sync.desired import Decider, Scope
from tenantsync.engine.user_sync.options import FilterRule
from tenantsync.engine.user_sync.rules import GroupIndex, RuleSet, pick_addresses
from tenantsync.model import DirectoryUser, MailboxKind

DOMAINS = frozenset({"contoso.com", "contoso.de"})


def user(name: str = "ann", **fields: object) -> DirectoryUser:
    values: dict[str, object] = {
        "source_id": f"id-{name}",
        "user_principal_name": f"{name}@contoso.onmicrosoft.com",
        "mail": f"{name}@contoso.com",
        "display_name": name.title(),
        "licensed": True,
        "license_skus": ("sku-e3",),
        "addresses": (
            f"{name}@contoso.com",
            f"{name}@contoso.onmicrosoft.com",
            f"{name}@contoso.de",
        ),
    }
    values.update(fields)
    return DirectoryUser(**values)  # type: ignore[arg-type]


def rule(**fields: object) -> FilterRule:
    return FilterRule.model_validate(fields)


def decider(*rules: FilterRule, groups: GroupIndex | None = None, **flags: bool) -> Decider:
    return Decider(
        domains=DOMAINS,
        rules=RuleSet(list(rules), groups),
        scope=Scope(),
        include_disabled=flags.get("include_disabled", False),
        include_guests=flags.get("include_guests", False),
    )


def test_onmicrosoft_addresses_are_never_synced_and_other_aliases_are_kept() -> None:
    primary, aliases = pick_addresses(
        ["ann@contoso.onmicrosoft.com", "ann@contoso.com", "a.b@contoso.de", "ann@fabrikam.com"],
        DOMAINS,
    )
    assert primary == "ann@contoso.com"
    assert aliases == ("a.b@contoso.de",)


def test_a_user_with_only_onmicrosoft_addresses_is_not_synced() -> None:
    only = user(addresses=("ann@contoso.onmicrosoft.com",))
    decision = decider().user(only, MailboxKind.USER, frozenset())
    assert decision.row is None
    assert decision.skip_reason == "no address in the organization's domains"


def test_first_matching_rule_wins_and_names_itself() -> None:
    d = decider(
        rule(
            name="sales", field="department", operator="equals", value="sales", policy_group="Sales"
        ),
        rule(field="displayName", operator="starts-with", value="a", policy_group="A-team"),
    )
    row = d.user(user(department="Sales"), MailboxKind.USER, frozenset()).row
    assert row is not None
    assert row.policy_group == "Sales"
    assert row.reason == "rule 1 (sales) matched"
    second = d.user(user(department="HR"), MailboxKind.USER, frozenset()).row
    assert second is not None and second.policy_group == "A-team"


def test_users_matching_no_rule_go_to_the_default_group() -> None:
    d = decider(rule(field="department", operator="equals", value="Sales", policy_group="Sales"))
    row = d.user(user(department=None), MailboxKind.USER, frozenset()).row
    assert row is not None
    assert row.policy_group is None
    assert row.reason == "no rule matched"


def test_exclude_rule_keeps_a_user_out_with_the_reason() -> None:
    d = decider(rule(field="jobTitle", operator="matches", value="^intern", exclude=True))
    decision = d.user(user(job_title="Intern (summer)"), MailboxKind.USER, frozenset())
    assert decision.row is None
    assert decision.skip_reason == "excluded by rule 1"


def test_member_of_matches_a_group_by_name_or_id_including_nesting() -> None:
    groups = GroupIndex.build([("g-fin", "Finance"), ("g-all", "Everyone")])
    by_name = decider(
        rule(field="memberOf", operator="member-of", value="finance", policy_group="Fin"),
        groups=groups,
    )
    by_id = decider(
        rule(field="memberOf", operator="member-of", value="g-fin", policy_group="Fin"),
        groups=groups,
    )
    for d in (by_name, by_id):
        inside = d.user(user(), MailboxKind.USER, frozenset({"g-fin", "g-all"})).row
        outside = d.user(user(), MailboxKind.USER, frozenset({"g-all"})).row
        assert inside is not None and inside.policy_group == "Fin"
        assert outside is not None and outside.policy_group is None
    assert RuleSet(by_name.rules.rules, GroupIndex.build([])).missing_groups() == [
        "rule 1: no source group 'finance'"
    ]


def test_operators_on_multi_valued_and_boolean_fields() -> None:
    d = decider(
        rule(field="proxyAddresses", operator="contains", value="smtp:sales@", policy_group="P"),
        rule(field="accountEnabled", operator="equals", value="false", policy_group="Off"),
        rule(field="assignedLicenses", operator="is-empty", policy_group="Free"),
        rule(field="companyName", operator="not-equals", value="Contoso", policy_group="Other"),
        include_disabled=True,
    )
    proxies = ("SMTP:ann@contoso.com", "smtp:Sales@contoso.com")
    routed = [
        d.user(u, MailboxKind.USER, frozenset()).row
        for u in (
            user(proxy_addresses=proxies),
            user(account_enabled=False),
            user(license_skus=(), licensed=False),
            user(company_name="Fabrikam"),
            user(company_name="contoso"),
        )
    ]
    assert [r.policy_group if r else "-" for r in routed] == ["P", "Off", "Free", "Other", None]


def test_guests_disabled_and_mailboxless_users_are_skipped_unless_asked() -> None:
    guest = user(user_type="Guest")
    disabled = user(account_enabled=False)
    strict = decider()
    assert strict.user(guest, MailboxKind.USER, frozenset()).skip_reason == "guest user"
    assert strict.user(disabled, MailboxKind.USER, frozenset()).skip_reason == "disabled account"
    assert strict.user(user(), None, frozenset()).skip_reason == "has no mailbox"
    lenient = decider(include_guests=True, include_disabled=True)
    assert lenient.user(guest, MailboxKind.USER, frozenset()).row is not None
    row = lenient.user(disabled, MailboxKind.USER, frozenset()).row
    assert row is not None and not row.billable
    assert row.non_billable_reason == "disabled account"


def test_only_licensed_user_mailboxes_bill() -> None:
    d = decider()
    licensed = d.user(user(), MailboxKind.USER, frozenset()).row
    unlicensed = d.user(user(licensed=False, license_skus=()), MailboxKind.USER, frozenset()).row
    shared = d.user(user(), MailboxKind.SHARED, frozenset()).row
    room = d.user(user(), MailboxKind.ROOM, frozenset()).row
    assert licensed is not None and licensed.billable
    assert unlicensed is not None and unlicensed.non_billable_reason == "unlicensed"
    assert shared is not None and shared.non_billable_reason == "shared mailbox"
    assert room is not None and room.non_billable_reason == "room mailbox"


def test_group_scope_admits_members_only() -> None:
    d = Decider(
        domains=DOMAINS,
        rules=RuleSet([]),
        scope=Scope(kind="group", group_ids=frozenset({"g-fin"})),
        include_disabled=False,
        include_guests=False,
    )
    assert d.user(user(), MailboxKind.USER, frozenset({"g-fin"})).row is not None
    assert d.user(user(), MailboxKind.USER, frozenset()).skip_reason == "outside the task's scope"


def test_shared_and_resource_mailboxes_with_disabled_accounts_are_synced() -> None:
    d = decider()
    for kind in (MailboxKind.SHARED, MailboxKind.ROOM, MailboxKind.EQUIPMENT):
        row = d.user(user(account_enabled=False), kind, frozenset()).row
        assert row is not None and not row.billable
        assert row.non_billable_reason == f"{kind.value} mailbox"
