"""Which permissions work across premises, per right and per direction, under what the
organization has in place."""

from __future__ import annotations

import pytest

from tenantsync.engine.hybrid.grants import AUTOMAPPED, CLOUD, ON_PREMISES, HybridRight
from tenantsync.engine.hybrid.rules import Category, Organization, classify, prerequisites
from tenantsync.model.hybrid import Side

READY = Organization((15, 2, 1544), True, (2, 3, 20, 0), True)
ACL_OFF = Organization((15, 1, 2507), False, (2, 3, 20, 0), True)
UNKNOWN = Organization(None, None, None, None)
OLD = Organization((14, 3, 123), True, (2, 3, 20, 0), True)
OLD_CONNECT = Organization((15, 2, 1544), True, (1, 1, 500, 0), True)
ONPREM, CLOUDY = Side.ON_PREMISES, Side.CLOUD
BOTH_WAYS = [(ONPREM, CLOUDY), (CLOUDY, ONPREM)]


@pytest.mark.parametrize(("mailbox", "trustee"), BOTH_WAYS)
@pytest.mark.parametrize(
    ("right", "flags", "org", "category"),
    [
        (HybridRight.FULL_ACCESS, ON_PREMISES, READY, Category.WORKS),
        (HybridRight.FULL_ACCESS, ON_PREMISES | AUTOMAPPED, READY, Category.LIMITED),
        (HybridRight.FULL_ACCESS, ON_PREMISES, ACL_OFF, Category.BROKEN),
        (HybridRight.FULL_ACCESS, ON_PREMISES, UNKNOWN, Category.CONDITIONAL),
        (HybridRight.SEND_ON_BEHALF, ON_PREMISES, READY, Category.WORKS),
        (HybridRight.SEND_ON_BEHALF, ON_PREMISES, OLD_CONNECT, Category.BROKEN),
        (HybridRight.SEND_ON_BEHALF, ON_PREMISES, ACL_OFF, Category.BROKEN),
        (HybridRight.SEND_ON_BEHALF, ON_PREMISES, UNKNOWN, Category.CONDITIONAL),
        (HybridRight.SEND_AS, ON_PREMISES, READY, Category.MANUAL),
        (HybridRight.SEND_AS, CLOUD, READY, Category.MANUAL),
        (HybridRight.SEND_AS, ON_PREMISES | CLOUD, READY, Category.WORKS),
        (HybridRight.FOLDER, ON_PREMISES, READY, Category.BROKEN),
        (HybridRight.FULL_ACCESS, ON_PREMISES, OLD, Category.BROKEN),
    ],
)
def test_each_right_across_premises_in_both_directions(
    mailbox: Side,
    trustee: Side,
    right: HybridRight,
    flags: int,
    org: Organization,
    category: Category,
) -> None:
    assert classify(right, mailbox, trustee, flags, org)[0] is category


@pytest.mark.parametrize("side", [ONPREM, CLOUDY])
@pytest.mark.parametrize("right", list(HybridRight))
def test_every_right_works_on_one_side(side: Side, right: HybridRight) -> None:
    assert classify(right, side, side, AUTOMAPPED | ON_PREMISES, OLD)[0] is Category.SAME_SIDE


def test_a_grant_whose_side_is_not_known_is_reported_unknown() -> None:
    assert classify(HybridRight.SEND_AS, None, ONPREM, 0, READY)[0] is Category.UNKNOWN


def test_prerequisites_by_exchange_version() -> None:
    def unmet(org: Organization) -> list[str]:
        return [p.name for p in prerequisites(org, migrated=3) if p.met is False]

    assert unmet(READY) == []
    assert unmet(ACL_OFF) == ["ACLable object synchronization"]
    assert unmet(OLD) == ["Exchange version"]
    assert unmet(Organization((15, 0, 1365), True, None, None)) == [
        "Exchange 2013 cumulative update"
    ]
    assert unmet(Organization((15, 0, 1497), False, None, None)) == ["ACL stamping"]
    moved = [p for p in prerequisites(READY, migrated=3) if p.name.startswith("ACLs on")]
    assert moved and moved[0].met is None and "msExchRecipientDisplayType" in moved[0].fix
    assert all(p.met is None for p in prerequisites(UNKNOWN, 0) if "Entra" in p.name)
