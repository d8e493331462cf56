"""Diff by origin: a task adds and removes only its own grants."""

from __future__ import annotations

from tenantsync.engine.permission_sync.diff import StoredGrant, diff_grants
from tenantsync.model.permissions import Grant, Right

FA = Right.FULL_ACCESS
SOB = Right.SEND_ON_BEHALF


def test_new_grants_are_added_and_vanished_ones_removed() -> None:
    stored = [StoredGrant(1, 10, 20, FA, None), StoredGrant(2, 10, 21, FA, None)]
    desired = [Grant(10, 20, FA), Grant(10, 22, FA)]
    plan = diff_grants(desired, stored, set())
    assert [g.delegate_id for g in plan.adds] == [22]
    assert [r.id for r in plan.removes] == [2]
    assert plan.unchanged == 1


def test_an_unchanged_source_plans_nothing() -> None:
    stored = [StoredGrant(1, 10, 20, FA, 5)]
    plan = diff_grants([Grant(10, 20, FA, 5)], stored, set())
    assert len(plan) == 0 and plan.unchanged == 1


def test_a_grant_now_reached_through_another_group_is_updated_not_replaced() -> None:
    plan = diff_grants([Grant(10, 20, FA, None)], [StoredGrant(1, 10, 20, FA, 5)], set())
    assert plan.updates == [(StoredGrant(1, 10, 20, FA, 5), None)]
    assert not plan.adds and not plan.removes


def test_a_mailbox_that_could_not_be_read_keeps_its_grants() -> None:
    stored = [StoredGrant(1, 10, 20, FA, None), StoredGrant(2, 11, 20, FA, None)]
    plan = diff_grants([], stored, keep_mailboxes={10})
    assert [r.id for r in plan.removes] == [2]
    assert plan.kept_unread == 1


def test_nothing_is_added_on_a_mailbox_that_could_not_be_read() -> None:
    plan = diff_grants([Grant(10, 20, FA)], [], keep_mailboxes={10})
    assert plan.adds == []


def test_a_right_with_an_unresolved_trustee_keeps_its_grants_but_may_gain() -> None:
    stored = [StoredGrant(1, 10, 20, SOB, None), StoredGrant(2, 10, 21, FA, None)]
    plan = diff_grants([Grant(10, 22, SOB)], stored, set(), {(10, SOB)})
    assert [g.key for g in plan.kept_unresolved] == [(10, 20, SOB)]
    assert [r.key for r in plan.removes] == [(10, 21, FA)]
    assert [g.key for g in plan.adds] == [(10, 22, SOB)]
