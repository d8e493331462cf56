"""Hybrid reports in the console: a run's report read for a viewer (grants only for super
administrators, like every answer that names a grant), paged and filtered, and the
exports."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from tenantsync.console.ops.grant_data import sees_grants
from tenantsync.console.ops.paging import MAX_PER_PAGE, Page
from tenantsync.engine.hybrid import views
from tenantsync.errors import NotFound, PermissionDenied
from tenantsync.store.models import Run

if TYPE_CHECKING:  # annotations only: importing auth would load FastAPI
    from tenantsync.console.auth import Principal

T = TypeVar("T")
# Exports anyone who may read the run may take: no grant is in them.
OPEN_EXPORTS = frozenset({"batches", "migration"})


def report_of(run: Run, kind: str | None = None) -> dict[str, Any]:
    """The run's report (of ``kind`` when given); NotFound when it holds none."""
    report = run.report
    if not isinstance(report, dict) or (kind and report.get("kind") != kind):
        raise NotFound(f"run {run.id} holds no {kind or 'report'}")
    return report


def page_of(items: list[T], page: int, per_page: int = 100) -> Page[T]:
    """One page of a list."""
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    start = (page - 1) * per_page
    return Page(
        items=items[start : start + per_page], total=len(items), page=page, per_page=per_page
    )


@dataclass
class ReportView:
    """What a viewer sees of a cross-premises report."""

    counts: dict[str, Any]
    prerequisites: list[dict[str, Any]]
    categories: dict[str, str]
    filtered: dict[str, Counter[str]] = field(default_factory=dict)
    grants: Page[dict[str, Any]] | None = None
    commands: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sources: dict[str, Any] = field(default_factory=dict)
    hidden: bool = False


def report_view(viewer: Principal, run: Run, f: views.GrantFilter, page: int) -> ReportView:
    """The report for ``viewer``: counts and prerequisites for all, grants for super
    administrators."""
    report = report_of(run, "hybrid_report")
    view = ReportView(
        counts=report["counts"],
        prerequisites=report["prerequisites"],
        categories=report["categories"],
        sources=report["sources"],
    )
    if not sees_grants(viewer):
        view.hidden = True
        return view
    rows = views.grants(report, f)
    view.filtered = {
        "category": Counter(g["category"] for g in rows),
        "right": Counter(g["right"] for g in rows),
        "direction": Counter(g["direction"] for g in rows),
    }
    view.grants = page_of(rows, page)
    view.commands = [c for c in report["send_as_commands"] if f.keeps(_command_row(c, report))]
    view.notes = list(report.get("notes", []))
    return view


def _command_row(command: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    row = report["grants"][command["grant"]]
    columns = report["grant_columns"]
    item = dict(zip(columns, row, strict=True))
    return {**item, "mailbox": command["mailbox"], "trustee": command["trustee"]}


def export(
    viewer: Principal, run: Run, what: str, fmt: str, f: views.GrantFilter, batch: str | None
) -> str:
    """An export of the run's report; grants, commands and broken grants for super
    administrators only."""
    if what not in OPEN_EXPORTS and not sees_grants(viewer):
        raise PermissionDenied("this export lists grants: super administrators only")
    return views.export(report_of(run), what, fmt, f, batch)


@dataclass
class BatchesView:
    """What a viewer sees of a batch plan."""

    totals: dict[str, Any]
    batches: list[dict[str, Any]]
    warnings: list[str]
    stability: dict[str, Any]
    options: dict[str, Any]
    service_accounts: list[dict[str, Any]] = field(default_factory=list)
    service_account_count: int = 0
    hidden: bool = False


def batches_view(viewer: Principal, run: Run) -> BatchesView:
    """The batch plan: batches and totals for all, service accounts by name for super
    administrators (who holds rights on most mailboxes is grant data)."""
    report = report_of(run, "migration_batches")
    accounts = report.get("service_accounts", [])
    return BatchesView(
        totals=report["totals"],
        batches=views.batch_rows(report),
        warnings=list(report.get("warnings", [])),
        stability=report.get("stability", {}),
        options=report.get("options", {}),
        service_accounts=accounts if sees_grants(viewer) else [],
        service_account_count=len(accounts),
        hidden=not sees_grants(viewer),
    )


@dataclass
class BatchView:
    """One batch: its members for all, its broken grants for super administrators."""

    name: str
    members: Page[str]
    groups: list[int]
    broken: list[dict[str, Any]]
    broken_count: int
    hidden: bool


def batch_view(viewer: Principal, run: Run, name: str, page: int) -> BatchView:
    """One batch of the run's plan for ``viewer``."""
    report = report_of(run, "migration_batches")
    found = views.batch(report, name)
    members = views.members(report, name)
    shown = sees_grants(viewer)
    return BatchView(
        name=name,
        members=page_of(members, page, 200),
        groups=[len(g) for g in found["groups"]],
        broken=views.broken(report, name) if shown else [],
        broken_count=len(found["broken"]),
        hidden=not shown,
    )
