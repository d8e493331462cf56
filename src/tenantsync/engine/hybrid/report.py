"""The cross-premises report: for every grant, where mailbox and trustee live, whether it
works across premises and why; the Send As grants that need their manual pair of commands;
the prerequisites not met. It is kept on the run (``run.report``), compactly: mailboxes
once in a table, grants as rows that point into it, reasons by code.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from tenantsync.connectors.exported.powershell import grant_send_as
from tenantsync.engine.hybrid.grants import AUTOMAPPED, CLOUD, ON_PREMISES, RIGHTS
from tenantsync.engine.hybrid.inputs import Inputs
from tenantsync.engine.hybrid.rules import (
    CATEGORY_TITLES,
    REASONS,
    Category,
    classify,
    direction,
    prerequisites,
)
from tenantsync.model.hybrid import Side
from tenantsync.timeutil import utcnow

REPORT_VERSION = 1
GRANT_COLUMNS = (
    "mailbox",
    "trustee",
    "right",
    "via_group",
    "direction",
    "category",
    "reason",
    "granted_on",
    "automapped",
    "role",
)


def mailbox_rows(inputs: Inputs) -> list[list[Any]]:
    """Every person: address, where it lives, its types per side, migrated, why."""
    return [
        [
            p.address,
            p.location.value if p.location else None,
            p.types.get(Side.ON_PREMISES),
            p.types.get(Side.CLOUD),
            p.migrated,
            p.why,
        ]
        for p in inputs.people.persons
    ]


def granted_on(flags: int) -> str:
    """Which side showed a grant: on_premises, cloud or both."""
    if flags & ON_PREMISES and flags & CLOUD:
        return "both"
    return "on_premises" if flags & ON_PREMISES else "cloud"


def build_report(inputs: Inputs, kind: str = "hybrid_report") -> dict[str, Any]:
    """The report as the run keeps it."""
    persons = inputs.people.persons
    table = inputs.grants
    rows: list[list[Any]] = []
    commands: list[dict[str, Any]] = []
    by_category: Counter[str] = Counter()
    by_right: Counter[str] = Counter()
    by_direction: Counter[str] = Counter()
    cross: Counter[str] = Counter()
    for i in range(len(table)):
        m, t, code, flags = (int(table.mailbox[i]), int(table.trustee[i]), int(table.right[i]),
                             int(table.flags[i]))  # fmt: skip
        right = RIGHTS[code]
        m_side, t_side = persons[m].location, persons[t].location
        category, reason = classify(right, m_side, t_side, flags, inputs.org)
        way = direction(m_side, t_side)
        via = int(table.via[i])
        role = int(table.role[i])
        rows.append(
            [
                m,
                t,
                right.value,
                table.groups[via] if via >= 0 else None,
                way,
                category.value,
                reason,
                granted_on(flags),
                bool(flags & AUTOMAPPED),
                table.roles[role] if role >= 0 else None,
            ]
        )
        by_category[category.value] += 1
        by_right[right.value] += 1
        by_direction[way] += 1
        if category is not Category.SAME_SIDE:
            cross[f"{right.value}:{category.value}"] += 1
        if category is Category.MANUAL:
            commands.append(
                _send_as_pair(len(rows) - 1, persons[m].address, persons[t].address, flags)
            )
    places = Counter((p.location.value if p.location else "unknown") for p in persons)
    migrated = sum(1 for p in persons if p.migrated)
    return {
        "kind": kind,
        "version": REPORT_VERSION,
        "generated_at": utcnow().isoformat(),
        "sources": inputs.sources,
        "organization": {
            "exchange_version": ".".join(map(str, inputs.org.version))
            if inputs.org.version
            else None,
            "aclable_sync": inputs.org.aclable_sync,
            "entra_connect_version": ".".join(map(str, inputs.org.entra_connect))
            if inputs.org.entra_connect
            else None,
            "entra_connect_exchange_hybrid": inputs.org.exchange_hybrid,
        },
        "prerequisites": [vars(p) for p in prerequisites(inputs.org, migrated)],
        "counts": {
            "grants": len(rows),
            "cross_premises": len(rows) - by_category.get(Category.SAME_SIDE.value, 0),
            "by_category": dict(sorted(by_category.items())),
            "by_right": dict(sorted(by_right.items())),
            "by_direction": dict(sorted(by_direction.items())),
            "cross_by_right_and_category": dict(sorted(cross.items())),
            "mailboxes": dict(sorted(places.items())),
            "migrated": migrated,
        },
        "categories": {c.value: CATEGORY_TITLES[c] for c in Category},
        "reasons": dict(REASONS),
        "mailboxes": mailbox_rows(inputs),
        "grant_columns": list(GRANT_COLUMNS),
        "grants": rows,
        "send_as_commands": commands,
        "notes": [text for text, _ in inputs.notes],
    }


def _send_as_pair(row: int, mailbox: str, trustee: str, flags: int) -> dict[str, Any]:
    """The pair of Send As commands, each marked with whether it is still needed."""
    return {
        "grant": row,
        "mailbox": mailbox,
        "trustee": trustee,
        "on_premises": grant_send_as(mailbox, trustee, Side.ON_PREMISES),
        "on_premises_needed": not flags & ON_PREMISES,
        "cloud": grant_send_as(mailbox, trustee, Side.CLOUD),
        "cloud_needed": not flags & CLOUD,
    }


def report_counts(report: dict[str, Any]) -> dict[str, Any]:
    """The run's counts (no grant is named in them)."""
    counts = report["counts"]
    flat: dict[str, Any] = {
        "grants": counts["grants"],
        "cross_premises": counts["cross_premises"],
        "migrated": counts["migrated"],
    }
    flat.update({f"mailboxes_{k}": v for k, v in counts["mailboxes"].items()})
    flat.update({f"grants_{k}": v for k, v in counts["by_category"].items()})
    flat["send_as_pairs_to_run"] = len(report["send_as_commands"])
    flat["prerequisites_not_met"] = sum(1 for p in report["prerequisites"] if p["met"] is False)
    return flat
