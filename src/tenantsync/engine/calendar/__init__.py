"""Calendar replication: every mailbox's calendar replicated from Microsoft 365 into
replicas its owner and delegates can open when Exchange cannot be reached.

Public surface: ``DEFINITION_TYPE`` (registered as ``calendar_replication``),
``CalendarOptions``; the console and CLI use ``views`` (events in a range, replication
state, feeds) and ``ical`` (the iCalendar feed). Runs go through the pipeline.
"""

from __future__ import annotations

from tenantsync.engine.calendar.feature import CalendarReplication
from tenantsync.engine.calendar.options import CalendarOptions
from tenantsync.engine.registry import DefinitionType

DEFINITION_TYPE = DefinitionType(
    name="calendar_replication",
    title="Calendar replication",
    options_model=CalendarOptions,
    feature=CalendarReplication(),
    needs_connection=True,
)

__all__ = ["DEFINITION_TYPE", "CalendarOptions", "CalendarReplication"]
