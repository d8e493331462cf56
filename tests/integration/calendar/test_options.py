"""What a definition's options replicate: private items skipped or kept, bodies only when
asked, attendees unless turned off, attachments' names and sizes always and their contents
only when asked, under the per-mailbox cap."""

from __future__ import annotations

import base64

from sqlalchemy import select

from tenantsync.store.models import CalendarReplica
from tests.integration.calendar.harness import CalendarHarness


def rows(harness: CalendarHarness) -> list[CalendarReplica]:
    with harness.db.session() as s:
        found = list(s.scalars(select(CalendarReplica)))
        for row in found:
            s.expunge(row)
        return found


def test_by_default_bodies_are_left_out_and_attachments_keep_names_and_sizes(
    harness: CalendarHarness,
) -> None:
    assert harness.run(harness.task("calendars")).status == "succeeded"
    replicas = rows(harness)
    assert all(r.body == "" for r in replicas)
    assert any(r.details["attendees"] for r in replicas)
    files = [a for r in replicas for a in r.details["attachments"]]
    assert files and all(
        name == "agenda.txt" and size > 0 and content is None
        for name, size, _type, content in files
    )
    assert any(r.sensitivity == "private" for r in replicas)


def test_options_decide_bodies_attendees_contents_and_private_items(
    harness: CalendarHarness,
) -> None:
    task = harness.task(
        "everything", body=True, attendees=False, attachment_content=True, private="skip"
    )
    assert harness.run(task).status == "succeeded"
    replicas = rows(harness)
    assert any(r.body for r in replicas)
    assert not any(r.details["attendees"] for r in replicas)
    assert not any(r.sensitivity in ("private", "confidential") for r in replicas)
    files = [a for r in replicas for a in r.details["attachments"]]
    assert files and all(base64.b64decode(c).startswith(b"Agenda for") for *_, c in files)

    capped = harness.task("capped", attachment_content=True, attachment_cap_mb=0)
    assert harness.run(capped).status == "succeeded"
    files = [a for r in rows(harness) for a in r.details["attachments"]]
    assert files and all(content is None for *_, content in files)
