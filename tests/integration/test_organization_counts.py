"""An organization's counts over time: every applied user sync records one; a year of
frequent syncs is shown as the last count of each day."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert

from tenantsync.store.database import Database
from tenantsync.store.models import OrganizationCount
from tenantsync.store.trends import organization_trend, record_organization_counts
from tenantsync.timeutil import utcnow
from tests.support.factory import make_org


def test_frequent_counts_are_shown_as_the_last_of_each_day(db: Database) -> None:
    start = utcnow().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=10)
    with db.session() as session:
        org = make_org(session)
        record_organization_counts(session, org.id, None, start)  # as a sync ends
        later = [  # then every 45 minutes, 30 a day, for ten days
            start + timedelta(days=k // 30, minutes=45 * (k % 30)) for k in range(1, 300)
        ]
        session.execute(
            insert(OrganizationCount),
            [{"organization_id": org.id, "at": at, "mailboxes": 0, "billable": 0} for at in later],
        )
        org_id = org.id
    with db.session() as session:
        few = organization_trend(session, org_id, limit=400)
        daily = organization_trend(session, org_id)
        old = organization_trend(session, org_id, days=5, limit=400)
    assert len(few) == 300
    assert [p.at for p in daily] == [
        start + timedelta(days=day, minutes=45 * 29) for day in range(10)
    ]
    assert all(p.at >= utcnow() - timedelta(days=5) for p in old) and len(old) < 300
