"""Reading a hybrid report back: its grants filtered and spelled out, its batches and
their broken grants, counts per category, and the CSV and JSON exports. The console and
the CLI both show reports through here; who may see grant data is theirs to decide."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.connectors.exported.powershell import migration_csv
from tenantsync.errors import NotFound
from tenantsync.store.models import Run

REPORT_TYPES = ("hybrid_report", "migration_batches")


@dataclass(frozen=True)
class GrantFilter:
    """How a report's grants are narrowed (empty: any)."""

    category: str = ""
    right: str = ""
    direction: str = ""
    search: str = ""

    def keeps(self, row: dict[str, Any]) -> bool:
        """Whether a spelled-out grant passes."""
        if self.category and row["category"] != self.category:
            return False
        if self.right and row["right"] != self.right:
            return False
        if self.direction and row["direction"] != self.direction:
            return False
        text = self.search.strip().lower()
        return not text or text in row["mailbox"] or text in row["trustee"]


def last_report_run(session: Session, task_id: int) -> Run:
    """The task's newest run that holds a report."""
    run = session.scalar(
        select(Run)
        .where(Run.task_id == task_id, Run.report.is_not(None))
        .order_by(Run.id.desc())
        .limit(1)
    )
    if run is None:
        raise NotFound("the task has no run with a report yet: run it first")
    return run


def addresses(report: dict[str, Any]) -> list[str]:
    """The report's mailbox addresses, by index."""
    return [str(m[0]) for m in report.get("mailboxes", [])]


def grants(report: dict[str, Any], f: GrantFilter = GrantFilter()) -> list[dict[str, Any]]:
    """The cross-premises report's grants spelled out (addresses, reason text), filtered."""
    names = addresses(report)
    reasons = report.get("reasons", {})
    columns = report.get("grant_columns", [])
    out = []
    for row in report.get("grants", []):
        item = dict(zip(columns, row, strict=True))
        item["mailbox"] = names[item["mailbox"]]
        item["trustee"] = names[item["trustee"]]
        item["reason_text"] = reasons.get(item["reason"], item["reason"])
        if f.keeps(item):
            out.append(item)
    return out


def filter_counts(report: dict[str, Any], f: GrantFilter) -> dict[str, Counter[str]]:
    """Counts per category, right and direction of the grants ``f`` keeps."""
    kept = grants(report, f)
    return {
        "category": Counter(g["category"] for g in kept),
        "right": Counter(g["right"] for g in kept),
        "direction": Counter(g["direction"] for g in kept),
    }


def batch(report: dict[str, Any], name: str) -> dict[str, Any]:
    """One batch of a batches report, by name."""
    for item in report.get("batches", []):
        if item["name"] == name:
            return dict(item)
    raise NotFound(f"no batch named {name!r} in this plan")


def members(report: dict[str, Any], name: str) -> list[str]:
    """The addresses of one batch's mailboxes."""
    names = addresses(report)
    return [names[p] for p in batch(report, name)["members"]]


def broken(report: dict[str, Any], name: str | None = None) -> list[dict[str, Any]]:
    """The grants the plan breaks (of one batch's boundary when ``name`` is given)."""
    names = addresses(report)
    columns = report.get("broken_columns", [])
    rows = report.get("broken", [])
    chosen = batch(report, name)["broken"] if name else range(len(rows))
    out = []
    for index in chosen:
        item = dict(zip(columns, rows[index], strict=True))
        item["mailbox"] = names[item["mailbox"]]
        item["trustee"] = names[item["trustee"]]
        out.append(item)
    return out


def batch_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each batch: name, size, completion groups, broken grants and their weight."""
    return [
        {
            "name": b["name"],
            "size": b["size"],
            "completion_groups": len(b["groups"]),
            "broken_grants": len(b["broken"]),
            "broken_weight": b["broken_weight"],
        }
        for b in report.get("batches", [])
    ]


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Rows as CSV with a header; lists joined with ' | '."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " | ".join(str(v) for v in value)
    return str(value)


GRANT_CSV = (
    "mailbox",
    "trustee",
    "right",
    "via_group",
    "direction",
    "category",
    "reason_text",
    "granted_on",
    "automapped",
    "role",
)
BROKEN_CSV = ("mailbox", "trustee", "right", "weight", "mailbox_batch", "trustee_batch", "commands")


def export(report: dict[str, Any], what: str, fmt: str, f: GrantFilter, name: str | None) -> str:
    """An export of a report: ``what`` is grants, commands (Send As pairs), batches, broken
    or migration (New-MigrationBatch -CSVData of batch ``name``); ``fmt`` csv or json."""
    rows: list[dict[str, Any]]
    columns: Sequence[str]
    if what == "migration":
        if not name:
            raise NotFound("name the batch to export for New-MigrationBatch")
        return migration_csv(members(report, name))
    if what == "grants":
        rows, columns = grants(report, f), GRANT_CSV
    elif what == "commands":
        rows = list(report.get("send_as_commands", []))
        columns = (
            "mailbox",
            "trustee",
            "on_premises",
            "on_premises_needed",
            "cloud",
            "cloud_needed",
        )
    elif what == "batches":
        rows, columns = (
            batch_rows(report),
            ("name", "size", "completion_groups", "broken_grants", "broken_weight"),
        )
    elif what == "broken":
        rows, columns = broken(report, name), BROKEN_CSV
    else:
        raise NotFound(f"nothing called {what!r} to export")
    if fmt == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    return to_csv(rows, columns)
