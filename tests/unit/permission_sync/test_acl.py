"""Reading Exchange ACLs as they really are."""

from __future__ import annotations

from tenantsync.engine.permission_sync.acl import Skips, grants_from, resolve_entries
from tenantsync.engine.permission_sync.directory import Directory
from tenantsync.model.permissions import AclEntry, Grant, Right, Trustee

SHARED = 1
ALICE, BOB, CAROL, DAVE = 2, 3, 4, 5
SALES, EUROPE, LOOP_A, LOOP_B = 10, 11, 12, 13


def directory() -> Directory:
    d = Directory()
    for mid, address in [
        (SHARED, "shared@contoso.com"),
        (ALICE, "alice@contoso.com"),
        (BOB, "bob@contoso.com"),
        (CAROL, "carol@contoso.com"),
        (DAVE, "dave@contoso.com"),
    ]:
        d.add_mailbox(mid, address, [f"src-{mid}"])
        d.mailbox_by_source[f"src-{mid}"] = mid
    for gid, name in [(SALES, "Sales"), (EUROPE, "Europe"), (LOOP_A, "Loop A"), (LOOP_B, "Loop B")]:
        d.add_group(gid, name, [f"g-{gid}"])
        d.group_by_source[f"g-{gid}"] = gid
    # Sales holds Bob and the nested group Europe (Carol); Loop A and Loop B hold each other.
    d.members = {
        SALES: [("src-3", False), ("g-11", True)],
        EUROPE: [("src-4", False)],
        LOOP_A: [("g-13", True), ("src-2", False)],
        LOOP_B: [("g-12", True), ("src-5", False)],
    }
    return d


def entry(
    name: str, *, deny: bool = False, inherited: bool = False, sid: str | None = None
) -> AclEntry:
    upn = name if "@" in name else None
    return AclEntry(
        "shared@contoso.com", Trustee(name, sid, upn), Right.FULL_ACCESS, deny, inherited
    )


def grants(*entries: AclEntry) -> tuple[list[Grant], Skips]:
    d = directory()
    skips = Skips()
    resolved = resolve_entries(entries, d, skips, "shared@contoso.com")
    return grants_from(SHARED, resolved, d, skips), skips


def test_a_direct_full_access_entry_becomes_a_grant() -> None:
    result, _ = grants(entry("alice@contoso.com"))
    assert result == [Grant(SHARED, ALICE, Right.FULL_ACCESS, None)]


def test_self_and_other_system_principals_are_skipped() -> None:
    result, skips = grants(
        entry("NT AUTHORITY\\SELF"),
        entry("NT AUTHORITY\\SYSTEM", inherited=True),
        entry("NAMPR01A001\\Organization Management"),
        entry("CONTOSO\\Exchange Servers", inherited=True),
        entry("NULL SID"),
    )
    assert result == []
    assert skips.counts["system_principal"] == 5
    assert skips.warnings() == []


def test_builtin_and_nt_authority_principals_are_system_by_name_or_sid() -> None:
    result, skips = grants(
        entry("BUILTIN\\Administrators"),
        entry("NT AUTHORITY\\LOCAL SERVICE"),
        entry("S-1-5-32-544"),
        entry("whatever", sid="S-1-5-32-548"),
    )
    assert result == []
    assert skips.counts["system_principal"] == 4


def test_inherited_entries_are_not_delegations() -> None:
    result, skips = grants(entry("alice@contoso.com", inherited=True))
    assert result == []
    assert skips.counts["inherited"] == 1


def test_a_deny_entry_cancels_the_matching_allow() -> None:
    result, skips = grants(
        entry("alice@contoso.com"), entry("alice@contoso.com", deny=True), entry("bob@contoso.com")
    )
    assert [g.delegate_id for g in result] == [BOB]
    assert skips.counts["denied"] == 1


def test_a_deny_on_one_member_cancels_the_allow_given_through_a_group() -> None:
    result, _ = grants(entry("Sales"), entry("carol@contoso.com", deny=True))
    assert [(g.delegate_id, g.via_group_id) for g in result] == [(BOB, SALES)]


def test_orphaned_sids_are_skipped_and_reported_with_examples() -> None:
    orphan = "S-1-5-21-3623811015-3361044348-30300820-1013"
    result, skips = grants(entry(orphan), entry("alice@contoso.com"))
    assert [g.delegate_id for g in result] == [ALICE]
    assert skips.counts["orphaned_sid"] == 1
    (warning,) = skips.warnings()
    assert "orphaned SID" in warning and orphan in warning and warning.startswith("1 ")


def test_a_trustee_outside_the_directory_is_skipped_as_a_warning() -> None:
    result, skips = grants(entry("guest@fabrikam.com"))
    assert result == []
    assert skips.counts["not_in_directory"] == 1
    assert "guest@fabrikam.com on shared@contoso.com" in skips.warnings()[0]


def test_a_group_trustee_reaches_its_nested_members_and_remembers_the_group() -> None:
    result, _ = grants(entry("Sales"))
    assert [(g.delegate_id, g.via_group_id) for g in result] == [(BOB, SALES), (CAROL, SALES)]


def test_cyclic_groups_expand_once_without_looping() -> None:
    result, _ = grants(entry("Loop A"))
    assert [(g.delegate_id, g.via_group_id) for g in result] == [(ALICE, LOOP_A), (DAVE, LOOP_A)]


def test_a_direct_grant_wins_over_the_same_grant_through_a_group() -> None:
    result, _ = grants(entry("Sales"), entry("bob@contoso.com"))
    assert [(g.delegate_id, g.via_group_id) for g in result] == [(BOB, None), (CAROL, SALES)]


def test_the_mailbox_itself_is_never_its_own_delegate() -> None:
    d = directory()
    d.members[SALES].append(("src-1", False))
    d.closure.clear()
    skips = Skips()
    resolved = resolve_entries([entry("Sales")], d, skips, "shared@contoso.com")
    assert SHARED not in [g.delegate_id for g in grants_from(SHARED, resolved, d, skips)]
    assert skips.counts["self"] == 1


def test_trustees_are_found_by_domain_name_sid_or_group_name_case_insensitively() -> None:
    d = directory()
    d.add_mailbox(6, "erin@contoso.com", ["S-1-5-21-1-2-3-4444", "erin"])
    skips = Skips()
    resolved = resolve_entries(
        [
            entry("CONTOSO\\erin"),
            entry("x", sid="S-1-5-21-1-2-3-4444"),
            entry("sales"),
        ],
        d,
        skips,
        "shared@contoso.com",
    )
    assert [(k, i) for k, i, _, _ in resolved] == [("mailbox", 6), ("mailbox", 6), ("group", SALES)]


def test_role_groups_with_or_without_a_prefix_are_system_principals() -> None:
    for name in (
        "Discovery Management",
        "CONTOSO\\Organization Management",
        "EURPR07A013\\Discovery Management",
        "EURPR07A013\\Exchange Trusted Subsystem",
        "Public Folder Management",
    ):
        result, skips = grants(entry(name))
        assert result == []
        assert skips.counts == {"system_principal": 1}, name
        assert skips.warnings() == []


def test_a_directory_group_named_like_a_role_group_still_grants() -> None:
    d = directory()
    d.add_group(20, "Help Desk", ["g-20"])
    d.members[20] = [("src-2", False)]
    skips = Skips()
    resolved = resolve_entries([entry("Help Desk")], d, skips, "shared@contoso.com")
    assert grants_from(SHARED, resolved, d, skips) == [Grant(SHARED, ALICE, Right.FULL_ACCESS, 20)]


def test_a_name_only_trustee_is_uncertain_only_when_names_could_not_be_checked() -> None:
    d = directory()
    unknown = AclEntry("shared@contoso.com", Trustee("nadia"), Right.SEND_ON_BEHALF)
    outsider = AclEntry(
        "shared@contoso.com", Trustee("x@fabrikam.com", source_id="ext-1"), Right.FULL_ACCESS
    )
    unresolved: set[Right] = set()
    resolve_entries([unknown, outsider], d, Skips(), "shared@contoso.com", unresolved)
    assert unresolved == {Right.SEND_ON_BEHALF}
