"""What keeps an on-premises sync from doing damage, against the Samba DC: a read that
stops early (a page the DC fails, an answer cut off mid-way, trustees cut at a size
limit) is an incomplete part that removes nothing, for user sync and permission sync; a
mass removal waits at the threshold."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ldap3 import MODIFY_DELETE

from tenantsync.sandbox.ldap_faults import DIRSYNC, PAGED, SD_FLAGS, SIZE_LIMIT, LdapFault
from tests.integration.onprem.conftest import OnPrem
from tests.integration.onprem.harness import OnPremSync, add_mailbox, delete

Make = Callable[..., OnPremSync]
STOPS = [
    pytest.param(LdapFault(PAGED, after=1), id="the second page fails"),
    pytest.param(LdapFault(PAGED, after=1, action="cut", entries=3), id="an answer is cut"),
]


@pytest.fixture
def make_sync(onprem: OnPrem, tmp_path: Path) -> Iterator[Make]:
    made: list[OnPremSync] = []

    def make(**kwargs: Any) -> OnPremSync:
        made.append(OnPremSync(onprem, tmp_path / str(len(made)), **kwargs))
        return made[-1]

    yield make
    for sync in made:
        sync.close()


@pytest.mark.parametrize("fault", STOPS)
def test_a_paged_user_read_that_stops_early_removes_no_mailbox(
    onprem: OnPrem, make_sync: Make, fault: LdapFault
) -> None:
    dn, address = add_mailbox(onprem, f"leaver-{fault.action}")
    # An account without Replicating Directory Changes: every run is a paged full read.
    sync = make_sync(user=onprem.org.limited_user, page_size=10)
    sync.run()
    stored = sync.mailboxes()
    assert address in stored
    delete(onprem, dn)
    sync.set_faults(fault)
    held = sync.run()
    assert held.status == "warning", held.error
    # Only the pages before the fault were read: everyone after them looks gone.
    assert held.counts["removals_held"] > 1
    assert "nothing is removed" in held.texts()
    assert "paged search" in held.texts()
    assert sync.mailboxes() == stored
    assert sync.faults.injected
    sync.set_faults()
    healed = sync.run()
    assert healed.status == "succeeded", healed.error
    assert address not in sync.mailboxes()


def test_a_dirsync_round_cut_off_removes_no_mailbox(onprem: OnPrem, make_sync: Make) -> None:
    dn, address = add_mailbox(onprem, "leaver-dirsync")
    # Samba shows DirSync deletions to a domain administrator only.
    sync = make_sync(user=onprem.dc.admin_user, password=onprem.dc.admin_password)
    sync.run()
    stored = sync.mailboxes()
    assert address in stored
    delete(onprem, dn)
    sync.set_faults(LdapFault(DIRSYNC, action="cut", entries=0))
    held = sync.run()
    assert held.status == "warning", held.error
    assert held.counts["read"] == "delta"
    assert "directory changes" in held.texts()
    assert sync.mailboxes() == stored
    sync.set_faults()
    healed = sync.run()
    assert healed.counts["read"] == "delta"
    assert address not in sync.mailboxes()


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(LdapFault(SD_FLAGS), id="a page fails"),
        pytest.param(LdapFault(SD_FLAGS, action="cut", entries=0), id="an answer is cut"),
    ],
)
def test_a_permission_read_that_stops_early_removes_no_grant(
    onprem: OnPrem, make_sync: Make, fault: LdapFault
) -> None:
    delegate_dn, delegate = add_mailbox(onprem, f"helper-{fault.action}")
    owner_dn, owner = add_mailbox(onprem, f"boss-{fault.action}", publicDelegates=[delegate_dn])
    # Every run reads every mailbox, page by page (a page is smaller than the organization).
    sync = make_sync(
        page_size=20, delegate_options={"full_reconciliation_hours": 0, "send_on_behalf": True}
    )
    sync.run("users")
    assert sync.run("delegates").status in ("succeeded", "warning")
    grant = (owner, delegate, "send_on_behalf")
    assert grant in sync.grants()
    admin = onprem.admin()
    assert admin.modify(owner_dn, {"publicDelegates": [(MODIFY_DELETE, [])]}), admin.result
    sync.set_faults(fault)
    held = sync.run("delegates")
    assert held.status == "warning", held.error
    assert "paged search" in held.texts()
    assert grant in sync.grants()
    sync.set_faults()
    healed = sync.run("delegates")
    assert healed.status in ("succeeded", "warning"), healed.error
    assert grant not in sync.grants()
    delete(onprem, owner_dn, delegate_dn)


def test_trustees_cut_off_at_a_size_limit_are_not_taken_for_orphans(
    onprem: OnPrem, make_sync: Make
) -> None:
    # Groups hold Full Access on shared mailboxes; a group is named by looking its SID up.
    sync = make_sync(page_size=20, delegate_options={"full_reconciliation_hours": 0})
    sync.run("users")
    assert sync.run("delegates").status in ("succeeded", "warning")
    granted = sync.grants()
    sync.set_faults(LdapFault(b"objectSid", unless=SD_FLAGS, code=SIZE_LIMIT, entries=0))
    cut = sync.run("delegates")
    assert sync.faults.injected.get(str(SIZE_LIMIT))
    assert cut.status == "warning", cut.error
    assert "trustees could not be looked up" in cut.texts()
    assert sync.grants() == granted


def test_the_removal_threshold_stops_an_onprem_sync_until_confirmed(
    onprem: OnPrem, make_sync: Make
) -> None:
    added = [add_mailbox(onprem, f"mover-{n}") for n in range(3)]
    sync = make_sync(user=onprem.org.limited_user, options={"max_removals": 2})
    sync.run()
    assert {address for _dn, address in added} <= sync.mailboxes()
    delete(onprem, *(dn for dn, _address in added))
    stopped = sync.run()
    assert stopped.status == "awaiting_confirmation", stopped.error
    assert stopped.stop_reason is not None and "would remove 3 mailboxes" in stopped.stop_reason
    assert {address for _dn, address in added} <= sync.mailboxes()
    confirmed = sync.run(confirms=stopped.id)
    assert confirmed.status == "succeeded", confirmed.error
    assert confirmed.counts["mailboxes_removed"] == 3
    assert not {address for _dn, address in added} & sync.mailboxes()
