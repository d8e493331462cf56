"""The sandbox's change log answers one mailbox's calendar changes between two delta tokens
from its own list, exactly as filtering the whole log would."""

from __future__ import annotations

import random

from tenantsync.sandbox.changelog import ChangeLog


def test_one_mailboxs_event_changes_are_those_the_whole_log_holds_for_it() -> None:
    log = ChangeLog()
    rng = random.Random(7)
    for n in range(2000):
        mailbox = f"m{rng.randrange(20)}"
        if n % 7 == 0:
            log.record("users", mailbox, "upsert")  # not an event change
        else:
            log.record("events", f"e{n}", "upsert", mailbox_id=mailbox)
    for _ in range(200):
        after = rng.randrange(0, log.seq)
        upto = rng.randrange(after, log.seq + 1)
        mailbox = f"m{rng.randrange(20)}"
        expected = [
            c
            for c in log.between(after, upto)
            if c.collection == "events" and c.mailbox_id == mailbox
        ]
        assert log.mailbox_events_between(mailbox, after, upto) == expected
    assert log.mailbox_events_between("nobody", 0, log.seq) == []
