"""Migration batches that keep permission holders together.

The graph: every on-premises mailbox still to move is a node; every grant between two of
them an edge weighted by what breaking it costs (Send As, folder permissions and
auto-mapping heavily, Full Access and Send on Behalf less; the definition's weights).
Mailboxes already in the cloud are placed: a grant to one is satisfied when the other
moves, whatever its batch. Service accounts (a trustee with rights on more mailboxes than
a count or a share) are found, listed for review and left out by name.

The cut is :mod:`~tenantsync.engine.hybrid.partition`'s (METIS) under the cap that binds
at completion: completion groups when the definition sets them, else whole batches; then
completion groups are packed into batches under the batch cap. A rerun keeps every
mailbox that has not moved in the batch (and completion group) it had, while the caps
allow; only new mailboxes are placed, next to what they share the most with.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from tenantsync.connectors.exported import powershell
from tenantsync.engine.hybrid.grants import AUTOMAPPED, RIGHTS, HybridRight
from tenantsync.engine.hybrid.inputs import Inputs
from tenantsync.engine.hybrid.options import MigrationBatchesOptions
from tenantsync.engine.hybrid.partition import (
    Graph,
    IntArray,
    build_graph,
    cut_weight,
    pack,
    partition,
)
from tenantsync.engine.hybrid.report import mailbox_rows
from tenantsync.model.hybrid import Side
from tenantsync.timeutil import utcnow

REPORT_KIND = "migration_batches"
REPORT_VERSION = 1
MAX_BATCHES = 100  # Exchange Online's MaxNumberOfBatches
BROKEN_COLUMNS = (
    "mailbox",
    "trustee",
    "right",
    "weight",
    "mailbox_batch",
    "trustee_batch",
    "commands",
)
# The share rule counts only for a trustee with rights on at least this many mailboxes: in a
# small organization a quarter of the mailboxes is an assistant, not a service account.
SHARE_FLOOR = 10
# A kept plan that breaks this much more than a fresh one gets a note suggesting replan.
REPLAN_FACTOR = 1.25


@dataclass
class Problem:
    """What is planned: the mailboxes to move (in directory order) and their graph."""

    pending: IntArray  # person ids, by address
    node: IntArray  # person id -> node (-1: not planned)
    graph: Graph
    grant_rows: IntArray  # rows of the grant table that are edges of the graph
    grant_weights: IntArray
    excluded: list[dict[str, Any]]


def weights_of(inputs: Inputs, options: MigrationBatchesOptions) -> IntArray:
    """What breaking each grant costs."""
    table = inputs.grants
    by_right = np.array([getattr(options.costs, r.value) for r in RIGHTS], dtype=np.int64)
    w = by_right[table.right]
    automapped = (table.right == RIGHTS.index(HybridRight.FULL_ACCESS)) & (
        (table.flags & AUTOMAPPED) > 0
    )
    return np.asarray(w + automapped * options.costs.automapping, dtype=np.int64)


def service_accounts(inputs: Inputs, options: MigrationBatchesOptions) -> list[dict[str, Any]]:
    """Trustees with rights on more mailboxes than the count or share: each with how many,
    and whether it is left out of the plan."""
    persons = inputs.people.persons
    table = inputs.grants
    known = np.array([p.location is not None for p in persons], dtype=bool)
    total = int(known.sum()) or 1
    pairs = (
        np.unique(table.trustee * len(persons) + table.mailbox)
        if len(table)
        else np.array([], dtype=np.int64)
    )
    holders = np.bincount(pairs // max(1, len(persons)), minlength=len(persons))
    named = {n.lower() for n in options.service_accounts}
    never = {n.lower() for n in options.not_service_accounts}
    found: list[dict[str, Any]] = []
    for pid in np.flatnonzero(holders):
        person = persons[int(pid)]
        count = int(holders[pid])
        share = count / total
        detected = count > options.service_account_min_mailboxes or (
            share > options.service_account_share and count >= SHARE_FLOOR
        )
        keys = person.keys | {person.address}
        is_named = bool(keys & named)
        if not (detected or is_named):
            continue
        kept = bool(keys & never)
        excluded = not kept and (is_named or options.exclude_detected_service_accounts)
        why = (
            "named in service_accounts"
            if is_named
            else (f"rights on {count} mailboxes ({share:.0%})")
        )
        if kept:
            why += "; kept: named in not_service_accounts"
        found.append(
            {"person": int(pid), "address": person.address, "mailboxes": count,
             "share": round(share, 4), "excluded": excluded, "why": why}
        )  # fmt: skip
    found.sort(key=lambda s: (-s["mailboxes"], s["address"]))
    return found


def problem(inputs: Inputs, options: MigrationBatchesOptions) -> Problem:
    """The mailboxes to move and the weighted graph of the grants among them."""
    persons = inputs.people.persons
    pending_ids = sorted(
        (p.id for p in persons if p.location is Side.ON_PREMISES), key=lambda i: persons[i].address
    )
    pending = np.array(pending_ids, dtype=np.int64)
    node = np.full(len(persons), -1, dtype=np.int64)
    node[pending] = np.arange(len(pending))
    accounts = service_accounts(inputs, options)
    out = np.zeros(len(persons), dtype=bool)
    out[[s["person"] for s in accounts if s["excluded"]]] = True
    table = inputs.grants
    a, b = node[table.mailbox], node[table.trustee]
    rows = np.flatnonzero((a >= 0) & (b >= 0) & ~out[table.trustee] & (a != b))
    w = weights_of(inputs, options)
    graph = build_graph(len(pending), a[rows], b[rows], w[rows])
    return Problem(pending, node, graph, rows, w[rows], accounts)


@dataclass
class Layout:
    """Where each node goes: its completion group and its batch (labels), and batch names."""

    group: IntArray
    batch: IntArray
    names: list[str]
    kept: int = 0
    placed: int = 0
    fallbacks: int = 0


def fresh_layout(prob: Problem, options: MigrationBatchesOptions) -> Layout:
    """A plan from scratch: cut under the binding cap, then pack."""
    cut = partition(prob.graph, options.unit_cap)
    group, batch, count = _pack_units(cut.labels, options)
    names = [f"{options.batch_prefix}-{i + 1:03d}" for i in range(count)]
    return Layout(group, batch, names, fallbacks=cut.fallbacks)


def _pack_units(
    units: IntArray, options: MigrationBatchesOptions
) -> tuple[IntArray, IntArray, int]:
    """Units (each within the binding cap) packed into completion groups and batches,
    numbered in directory order of their first mailbox."""
    n_units = int(units.max()) + 1 if len(units) else 0
    sizes = np.bincount(units, minlength=n_units).tolist()
    if options.completion_group_size is None:
        bins = pack(sizes, options.max_batch_size)
        group_of_unit = np.empty(n_units, dtype=np.int64)
        for g, items in enumerate(bins):
            group_of_unit[items] = g
        group = group_of_unit[units]
        batch = group.copy()
    else:
        gbins = pack(sizes, options.completion_group_size)
        group_of_unit = np.empty(n_units, dtype=np.int64)
        for g, items in enumerate(gbins):
            group_of_unit[items] = g
        group = group_of_unit[units]
        gsizes = np.bincount(group, minlength=len(gbins)).tolist()
        bbins = pack(gsizes, options.max_batch_size)
        batch_of_group = np.empty(len(gbins), dtype=np.int64)
        for b, items in enumerate(bbins):
            batch_of_group[items] = b
        batch = batch_of_group[group]
    group, _ = _renumber(group)
    batch, count = _renumber(batch)
    return group, batch, count


def _renumber(labels: IntArray) -> tuple[IntArray, int]:
    """Labels 0.. in the order of each label's first node (directory order)."""
    if not len(labels):
        return labels, 0
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(first)
    mapping = np.empty(int(labels.max()) + 1, dtype=np.int64)
    mapping[np.unique(labels)[order]] = np.arange(len(order))
    return mapping[labels], len(order)


def stable_layout(
    prob: Problem, options: MigrationBatchesOptions, addresses: list[str], previous: dict[str, Any]
) -> Layout | None:
    """The previous run's batches for every mailbox still to move, where the caps allow;
    new mailboxes placed next to what they share most with. None: nothing to keep."""
    before = _previous_assignment(previous)
    if not before:
        return None
    n = prob.graph.n
    unit_keys: dict[tuple[str, int], int] = {}
    unit = np.full(n, -1, dtype=np.int64)
    batch_name_of_unit: dict[int, str] = {}
    for i in range(n):
        found = before.get(addresses[i])
        if found is None:
            continue
        key = found if options.completion_group_size is not None else (found[0], 0)
        label = unit_keys.setdefault(key, len(unit_keys))
        unit[i] = label
        batch_name_of_unit[label] = found[0]
    # A unit or batch above today's caps is planned again.
    sizes = np.bincount(unit[unit >= 0], minlength=len(unit_keys))
    too_big = {u for u, s in enumerate(sizes) if s > options.unit_cap}
    batch_sizes = Counter(batch_name_of_unit[int(u)] for u in unit[unit >= 0])
    too_full = {b for b, s in batch_sizes.items() if s > options.max_batch_size}
    for i in range(n):
        u = int(unit[i])
        if u >= 0 and (u in too_big or batch_name_of_unit[u] in too_full):
            unit[i] = -1
    kept = int((unit >= 0).sum())
    new = np.flatnonzero(unit < 0)
    next_label = len(unit_keys)
    fallbacks = 0
    if len(new):
        local = np.full(n, -1, dtype=np.int64)
        local[new] = np.arange(len(new))
        g = prob.graph
        inside = (local[g.u] >= 0) & (local[g.v] >= 0)
        sub = Graph(len(new), local[g.u[inside]], local[g.v[inside]], g.w[inside])
        cut = partition(sub, options.unit_cap)
        fallbacks = cut.fallbacks
        unit_sizes = Counter(int(u) for u in unit[unit >= 0])
        for piece in range(cut.groups):
            nodes = new[cut.labels == piece]
            target = _best_unit(prob.graph, unit, nodes, unit_sizes, options.unit_cap)
            if target is None:
                target = next_label
                next_label += 1
            unit[nodes] = target
            unit_sizes[target] += len(nodes)
    # Units keep their batch; new units go where there is room, else to new batches.
    names: list[str] = sorted({batch_name_of_unit[u] for u in batch_name_of_unit})
    batch_index = {name: i for i, name in enumerate(names)}
    load = Counter(int(u) for u in unit)
    room = dict.fromkeys(names, options.max_batch_size)
    for u, name in batch_name_of_unit.items():
        room[name] -= load.get(u, 0)
    numbers = [int(n.rsplit("-", 1)[-1]) for n in names if n.rsplit("-", 1)[-1].isdigit()]
    counter = max(numbers, default=0)
    unit_batch: dict[int, int] = {u: batch_index[name] for u, name in batch_name_of_unit.items()}
    for u in sorted(set(load) - set(unit_batch), key=lambda x: -load[x]):
        home = next((name for name in names if room[name] >= load[u]), None)
        if home is None:
            counter += 1
            home = f"{options.batch_prefix}-{counter:03d}"
            names.append(home)
            batch_index[home] = len(names) - 1
            room[home] = options.max_batch_size
        room[home] -= load[u]
        unit_batch[u] = batch_index[home]
    batch = np.array([unit_batch[int(u)] for u in unit], dtype=np.int64)
    group, _ = _renumber(unit)
    used = sorted(set(batch.tolist()))
    remap = {b: i for i, b in enumerate(used)}
    return Layout(
        group,
        np.array([remap[int(b)] for b in batch], dtype=np.int64),
        [names[b] for b in used],
        kept=kept,
        placed=len(new),
        fallbacks=fallbacks,
    )


def _best_unit(
    graph: Graph, unit: IntArray, nodes: IntArray, sizes: Counter[int], cap: int
) -> int | None:
    """The kept unit ``nodes`` share the most weight with and that has room for them."""
    mine = np.zeros(graph.n, dtype=bool)
    mine[nodes] = True
    touching = mine[graph.u] ^ mine[graph.v]
    other = np.where(mine[graph.u[touching]], graph.v[touching], graph.u[touching])
    labels = unit[other]
    keep = labels >= 0
    if not keep.any():
        return None
    weight = Counter[int]()
    for label, w in zip(labels[keep].tolist(), graph.w[touching][keep].tolist(), strict=True):
        weight[label] += w
    for label, _w in weight.most_common():
        if sizes[label] + len(nodes) <= cap:
            return label
    return None


def _previous_assignment(previous: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """address -> (batch name, completion group) of a previous batches report."""
    if previous.get("kind") != REPORT_KIND or previous.get("version") != REPORT_VERSION:
        return {}
    mailboxes = previous.get("mailboxes", [])
    out: dict[str, tuple[str, int]] = {}
    for batch in previous.get("batches", []):
        for g, members in enumerate(batch.get("groups", [])):
            for index in members:
                if 0 <= index < len(mailboxes):
                    out[str(mailboxes[index][0])] = (str(batch["name"]), g)
    return out


def commands(
    right: HybridRight, mailbox: str, trustee: str, automapped: bool, role: str | None
) -> list[str]:
    """What restores a grant a batch boundary breaks, to run once both have moved (Send As:
    its on-premises half during coexistence, too)."""
    if right is HybridRight.FULL_ACCESS:
        return [powershell.grant_full_access(mailbox, trustee, automapping=automapped)]
    if right is HybridRight.SEND_AS:
        return [
            powershell.grant_send_as(mailbox, trustee, Side.ON_PREMISES),
            powershell.grant_send_as(mailbox, trustee, Side.CLOUD),
        ]
    if right is HybridRight.SEND_ON_BEHALF:
        return [powershell.grant_send_on_behalf(mailbox, trustee)]
    delegate = bool(role and "delegate" in role.lower())
    return [powershell.grant_folder(mailbox, "Calendar", trustee, role or "Reviewer", delegate)]


def plan_batches_report(
    inputs: Inputs, options: MigrationBatchesOptions, previous: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """The batch plan as the run keeps it, its counts, and its warnings."""
    persons = inputs.people.persons
    prob = problem(inputs, options)
    addresses = [persons[int(p)].address for p in prob.pending]
    layout = stable_layout(prob, options, addresses, previous) if previous else None
    fresh = fresh_layout(prob, options)
    warnings: list[str] = []
    stability: dict[str, Any] = {"kept": 0, "placed": prob.graph.n, "from_previous_run": False}
    if layout is None:
        layout = fresh
    else:
        stability = {"kept": layout.kept, "placed": layout.placed, "from_previous_run": True}
        kept_cut, fresh_cut = (
            cut_weight(prob.graph, layout.group),
            cut_weight(prob.graph, fresh.group),
        )
        stability["fresh_broken_weight"] = fresh_cut
        if kept_cut > REPLAN_FACTOR * fresh_cut + 10:
            warnings.append(
                f"the batches kept from the last run break {kept_cut} weighted grants; a fresh "
                f"plan would break {fresh_cut}: set replan to take it"
            )
    report = _assemble(inputs, options, prob, layout, stability)
    if len(layout.names) > MAX_BATCHES:
        warnings.append(
            f"{len(layout.names)} batches: Exchange Online allows at most {MAX_BATCHES} "
            "migration batches at once (raise max_batch_size, or run them in waves)"
        )
    report["warnings"] = warnings
    return report, _counts(report), warnings


def _assemble(
    inputs: Inputs,
    options: MigrationBatchesOptions,
    prob: Problem,
    layout: Layout,
    stability: dict[str, Any],
) -> dict[str, Any]:
    persons = inputs.people.persons
    table = inputs.grants
    rows = prob.grant_rows
    a, b = prob.node[table.mailbox[rows]], prob.node[table.trustee[rows]]
    broken_mask = layout.group[a] != layout.group[b]
    broken: list[list[Any]] = []
    per_batch: dict[int, list[int]] = {}
    for i in np.flatnonzero(broken_mask):
        row = int(rows[i])
        m, t = int(table.mailbox[row]), int(table.trustee[row])
        right = RIGHTS[int(table.right[row])]
        bm, bt = int(layout.batch[a[i]]), int(layout.batch[b[i]])
        role = int(table.role[row])
        cmds = commands(
            right,
            persons[m].address,
            persons[t].address,
            bool(table.flags[row] & AUTOMAPPED),
            table.roles[role] if role >= 0 else None,
        )
        index = len(broken)
        broken.append(
            [
                m,
                t,
                right.value,
                int(prob.grant_weights[i]),
                layout.names[bm],
                layout.names[bt],
                cmds,
            ]
        )
        per_batch.setdefault(bm, []).append(index)
        if bt != bm:
            per_batch.setdefault(bt, []).append(index)
    batches = []
    for bi, name in enumerate(layout.names):
        members = np.flatnonzero(layout.batch == bi)
        groups: dict[int, list[int]] = {}
        for node in members.tolist():
            groups.setdefault(int(layout.group[node]), []).append(int(prob.pending[node]))
        listed = per_batch.get(bi, [])
        batches.append(
            {
                "name": name,
                "size": len(members),
                "members": [int(prob.pending[x]) for x in members.tolist()],
                "groups": [groups[g] for g in sorted(groups)],
                "broken": listed,
                "broken_weight": sum(broken[x][3] for x in listed),
            }
        )
    excluded_rows = int(
        np.isin(table.trustee, [s["person"] for s in prob.excluded if s["excluded"]]).sum()
    )
    total_weight = int(prob.graph.w.sum())
    return {
        "kind": REPORT_KIND,
        "version": REPORT_VERSION,
        "generated_at": utcnow().isoformat(),
        "sources": inputs.sources,
        "options": options.model_dump(mode="json"),
        "mailboxes": mailbox_rows(inputs),
        "batches": batches,
        "broken_columns": list(BROKEN_COLUMNS),
        "broken": broken,
        "service_accounts": prob.excluded,
        "stability": stability,
        "totals": {
            "pending": prob.graph.n,
            "in_cloud": sum(1 for p in persons if p.location is Side.CLOUD),
            "migrated": sum(1 for p in persons if p.migrated),
            "unknown": sum(1 for p in persons if p.location is None),
            "edges": len(prob.graph.w),
            "weight": total_weight,
            "broken_grants": len(broken),
            "broken_weight": int(sum(r[3] for r in broken)),
            "grants_of_excluded_service_accounts": excluded_rows,
            "partitioner_fallbacks": layout.fallbacks,
        },
    }


def _counts(report: dict[str, Any]) -> dict[str, Any]:
    totals = report["totals"]
    sizes = [b["size"] for b in report["batches"]]
    groups = [len(g) for b in report["batches"] for g in b["groups"]]
    return {
        "batches": len(report["batches"]),
        "mailboxes_to_move": totals["pending"],
        "mailboxes_in_cloud": totals["in_cloud"],
        "mailboxes_migrated": totals["migrated"],
        "mailboxes_location_unknown": totals["unknown"],
        "largest_batch": max(sizes, default=0),
        "largest_completion_group": max(groups, default=0),
        "broken_grants": totals["broken_grants"],
        "broken_weight": totals["broken_weight"],
        "service_accounts_found": len(report["service_accounts"]),
        "service_accounts_excluded": sum(1 for s in report["service_accounts"] if s["excluded"]),
        "kept_from_previous_run": report["stability"]["kept"],
    }
