"""Migration batch planning at scale: 100,000 mailboxes and 1,000,000 grants, one service
account with Full Access on every mailbox.

Prints the planning time (generation excluded; target under 10 s here), peak memory, and
the broken weighted grants of the plan beside two references computed in the same run on
the same graph: connected components chunked to the cap in directory order (what
migration scripts do today) and the partitioner without weights (target: at most a
quarter of the chunking reference). ``--quick``: 10,000 mailboxes, 100,000 grants.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
# bench/queue.py would shadow the stdlib `queue`: keep this folder off sys.path.
sys.path[:] = [str(HERE.parent / "src")] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

from tenantsync.engine.hybrid.batches import plan_batches_report, problem  # noqa: E402
from tenantsync.engine.hybrid.grants import AUTOMAPPED, ON_PREMISES, GrantTable  # noqa: E402
from tenantsync.engine.hybrid.inputs import Inputs  # noqa: E402
from tenantsync.engine.hybrid.options import MigrationBatchesOptions  # noqa: E402
from tenantsync.engine.hybrid.partition import (  # noqa: E402
    chunked_components,
    cut_weight,
    partition,
)
from tenantsync.engine.hybrid.people import People, Person  # noqa: E402
from tenantsync.engine.hybrid.rules import Organization  # noqa: E402
from tenantsync.model.hybrid import Side  # noqa: E402

CAP = 300
TARGET_SECONDS = 10.0


def generate(mailboxes: int, grants: int, seed: int = 1) -> Inputs:
    """An organization of teams (4-30 people) in departments (200-800): most grants inside a
    team, some inside a department, a few anywhere (those mostly Full Access); 10% of
    mailboxes already moved; the last mailbox a service account with Full Access on all
    the others. Addresses are in no relation to teams, as in a real directory."""
    rng = np.random.default_rng(seed)
    people = People()
    moved = rng.random(mailboxes) < 0.10
    for i in range(mailboxes):
        side = Side.CLOUD if moved[i] and i != mailboxes - 1 else Side.ON_PREMISES
        person = Person(i, f"u{rng.integers(10**9):09d}.{i}@contoso.com", location=side)
        person.types[side] = "UserMailbox"
        people.persons.append(person)
    team = np.zeros(mailboxes, dtype=np.int64)
    dept = np.zeros(mailboxes, dtype=np.int64)
    start = t = d = 0
    while start < mailboxes:
        dsize = int(rng.integers(200, 800))
        end = min(mailboxes, start + dsize)
        dept[start:end] = d
        s = start
        while s < end:
            size = int(rng.integers(4, 31))
            team[s : min(end, s + size)] = t
            t, s = t + 1, s + size
        d, start = d + 1, end
    n = grants - (mailboxes - 1)
    kind = rng.random(n)
    m = rng.integers(0, mailboxes - 1, n)
    # a partner in the same team / department: a random index within the group's range
    team_lo = np.searchsorted(team, team, side="left")
    team_hi = np.searchsorted(team, team, side="right")
    dept_lo = np.searchsorted(dept, dept, side="left")
    dept_hi = np.searchsorted(dept, dept, side="right")
    in_team = team_lo[m] + (rng.random(n) * (team_hi[m] - team_lo[m])).astype(np.int64)
    in_dept = dept_lo[m] + (rng.random(n) * (dept_hi[m] - dept_lo[m])).astype(np.int64)
    anywhere = rng.integers(0, mailboxes - 1, n)
    trustee = np.where(kind < 0.80, in_team, np.where(kind < 0.95, in_dept, anywhere))
    # Delegates (Send As, calendar folders) sit next to their boss; what reaches across
    # teams is mostly Full Access to shared mailboxes and Send on Behalf.
    near = rng.choice(4, n, p=[0.30, 0.25, 0.15, 0.30])
    far = rng.choice(4, n, p=[0.75, 0.05, 0.15, 0.05])
    right = np.where(kind < 0.80, near, far)
    flags = ON_PREMISES | np.where((right == 0) & (rng.random(n) < 0.5), AUTOMAPPED, 0)
    service = mailboxes - 1
    others = np.arange(mailboxes - 1)
    table = GrantTable(
        mailbox=np.concatenate([m, others]),
        trustee=np.concatenate([trustee, np.full(mailboxes - 1, service)]),
        right=np.concatenate([right, np.zeros(mailboxes - 1, dtype=np.int64)]),
        flags=np.concatenate([flags, np.full(mailboxes - 1, ON_PREMISES | AUTOMAPPED)]),
        via=np.full(grants, -1, dtype=np.int64),
        role=np.full(grants, -1, dtype=np.int64),
    )
    return Inputs(people, table, Organization((15, 2, 1544), True, None, None))


def rss_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10,000 mailboxes, 100,000 grants")
    args = parser.parse_args(argv)
    mailboxes, grants = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
    began = time.perf_counter()
    inputs = generate(mailboxes, grants)
    generated = time.perf_counter() - began
    before = rss_mb()
    options = MigrationBatchesOptions(max_batch_size=CAP)
    start = time.perf_counter()
    _report, counts, _ = plan_batches_report(inputs, options, None)
    seconds = time.perf_counter() - start
    peak = rss_mb()
    ours = counts["broken_weight"]
    graph = problem(inputs, options).graph
    chunking = cut_weight(graph, chunked_components(graph, CAP))
    unweighted = cut_weight(graph, partition(graph, CAP, weighted=False).labels)
    total = int(graph.w.sum())
    print(f"mailboxes {mailboxes:,}, grants {grants:,} (generated in {generated:.1f} s)")
    print(
        f"to move {counts['mailboxes_to_move']:,}; batches {counts['batches']} "
        f"(largest {counts['largest_batch']}, cap {CAP}); service accounts left out "
        f"{counts['service_accounts_excluded']}"
    )
    print(f"planning time            {seconds:8.2f} s   (target < {TARGET_SECONDS:.0f} s)")
    print(f"peak memory              {peak:8.0f} MB  ({peak - before:+.0f} MB while planning)")
    print(f"graph weight             {total:8,}")
    broken = counts["broken_grants"]
    print(f"broken weighted grants   {ours:8,}   ({broken:,} grants)  METIS, weighted")
    print(f"  reference: chunking    {chunking:8,}   components chunked in directory order")
    print(f"  reference: unweighted  {unweighted:8,}   METIS without weights")
    ratio = ours / chunking if chunking else 0.0
    print(f"ours / chunking          {ratio:8.3f}   (target <= 0.25)")
    ok = seconds < TARGET_SECONDS and ratio <= 0.25 and counts["largest_batch"] <= CAP
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
