"""The two hybrid definition types as pipeline features: both read the exported-files
connection (and the store's cloud side), plan a report, and change nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.engine.feature import ChangeList, Limits
from tenantsync.engine.hybrid.batches import plan_batches_report
from tenantsync.engine.hybrid.inputs import Inputs, gather
from tenantsync.engine.hybrid.options import (
    MigrationBatchesOptions,
    SourceOptions,
)
from tenantsync.engine.hybrid.report import build_report, report_counts
from tenantsync.engine.hybrid.source import InventorySource, uploads_folder
from tenantsync.engine.plan import Plan
from tenantsync.engine.run import RunContext
from tenantsync.engine.sources import OpenedSource
from tenantsync.errors import SourceError
from tenantsync.model.hybrid import Inventory
from tenantsync.store.models import Run, RunStatus


@dataclass
class InventoryReading:
    """The files read whole (a file that could not be read failed the run before this)."""

    inventory: Inventory
    incomplete: list[str] = field(default_factory=list)
    retry: SourceError | None = None


class _Hybrid:
    """What both features share: reading the connection's files and gathering both sides."""

    def limits(self, options: object) -> Limits | None:
        """Files on disk: no traffic to narrow."""
        return None

    def read(
        self, ctx: RunContext, source: OpenedSource, *, full: str | None = None
    ) -> InventoryReading:
        """Every exported file of the connection: its folder and its uploads."""
        assert ctx.task.connection_id is not None
        ctx.report("read files", 0)
        connector = cast(InventorySource, source.connector)
        return InventoryReading(
            connector.inventory(uploads_folder(ctx.settings, ctx.task.connection_id))
        )

    def gather(self, ctx: RunContext, session: Session, reading: InventoryReading) -> Inputs:
        """Both sides merged, grants resolved."""
        options = ctx.options
        assert isinstance(options, SourceOptions)
        ctx.report("resolve", 0)
        return gather(session, ctx.task.organization_id, reading.inventory, options)

    def apply(self, ctx: RunContext, session: Session, planned: ChangeList) -> None:
        """Nothing to write: the report goes on the run."""


class HybridReport(_Hybrid):
    """The cross-premises report."""

    def plan(self, ctx: RunContext, session: Session, reading: InventoryReading) -> ChangeList:
        """The report, its counts and notes."""
        inputs = self.gather(ctx, session, reading)
        ctx.report("classify", 0, len(inputs.grants))
        report = build_report(inputs)
        return _planned(report, report_counts(report), inputs)


class MigrationBatches(_Hybrid):
    """Migration batches that keep permission holders together."""

    def plan(self, ctx: RunContext, session: Session, reading: InventoryReading) -> ChangeList:
        """The batches, their broken grants and commands, service accounts."""
        options = ctx.options
        assert isinstance(options, MigrationBatchesOptions)
        inputs = self.gather(ctx, session, reading)
        ctx.report("partition", 0, len(inputs.people.persons))
        report, counts, warnings = plan_batches_report(
            inputs, options, previous=None if options.replan else _previous(session, ctx)
        )
        planned = _planned(report, counts, inputs)
        for text in warnings:
            planned.messages.append({"level": "warning", "text": text, "grant_data": False})
            planned.warning = True
        return planned


def _planned(report: dict[str, Any], counts: dict[str, Any], inputs: Inputs) -> ChangeList:
    messages = [
        {"level": "warning", "text": text, "grant_data": names} for text, names in inputs.notes
    ]
    return ChangeList(Plan(), counts, messages, warning=bool(messages), report=report)


def _previous(session: Session, ctx: RunContext) -> dict[str, Any] | None:
    """The batches of the task's last run that planned some (preview or not)."""
    report = session.scalar(
        select(Run.report)
        .where(
            Run.task_id == ctx.task.id,
            Run.id != ctx.run_id,
            Run.status.in_([RunStatus.SUCCEEDED, RunStatus.WARNING]),
            Run.report.is_not(None),
        )
        .order_by(Run.id.desc())
        .limit(1)
    )
    return report if isinstance(report, dict) else None
