"""Migration batches: caps always honoured, broken grants reported exactly (recounted here
from the grants and the batches alone), service accounts left out, mailboxes already in
the cloud placed, and a rerun after some moved keeping the rest of the plan."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from tenantsync.engine.hybrid.batches import plan_batches_report
from tenantsync.engine.hybrid.grants import AUTOMAPPED, ON_PREMISES, RIGHTS, GrantTable, HybridRight
from tenantsync.engine.hybrid.inputs import Inputs
from tenantsync.engine.hybrid.options import MigrationBatchesOptions
from tenantsync.engine.hybrid.partition import (
    build_graph,
    chunked_components,
    cut_weight,
    partition,
)
from tenantsync.engine.hybrid.people import People, Person
from tenantsync.engine.hybrid.rules import Organization
from tenantsync.model.hybrid import Side

Grant = tuple[int, int, HybridRight, bool]


def inputs(onprem: int, cloud: int, grants: list[Grant]) -> Inputs:
    """People 0..onprem-1 on-premises, then ``cloud`` in the cloud; grants between them."""
    people = People()
    for i in range(onprem + cloud):
        side = Side.ON_PREMISES if i < onprem else Side.CLOUD
        person = Person(i, f"user{i:05d}@contoso.com", types={side: "UserMailbox"}, location=side)
        person.keys = {person.address}
        people.persons.append(person)
    columns = list(zip(*grants, strict=True)) if grants else [[], [], [], []]
    table = GrantTable(
        mailbox=np.array(columns[0], dtype=np.int64),
        trustee=np.array(columns[1], dtype=np.int64),
        right=np.array([RIGHTS.index(r) for r in columns[2]], dtype=np.int64),
        flags=np.array(
            [ON_PREMISES | (AUTOMAPPED if a else 0) for a in columns[3]], dtype=np.int64
        ),
        via=np.full(len(grants), -1, dtype=np.int64),
        role=np.full(len(grants), -1, dtype=np.int64),
    )
    return Inputs(people, table, Organization(None, None, None, None))


def teams(n: int, size: int, extra: int, seed: int) -> list[Grant]:
    """Grants mostly within teams of ``size``, plus ``extra`` anywhere."""
    rng = random.Random(seed)
    rights = list(HybridRight)
    grants: list[Grant] = []
    for start in range(0, n, size):
        members = list(range(start, min(n, start + size)))
        for m in members:
            t = rng.choice(members)
            if t != m:
                grants.append((m, t, rng.choice(rights), rng.random() < 0.5))
    for _ in range(extra):
        m, t = rng.randrange(n), rng.randrange(n)
        if m != t:
            grants.append((m, t, rng.choice(rights), False))
    rng.shuffle(grants)
    return grants


def expected_weight(options: MigrationBatchesOptions, right: HybridRight, automapped: bool) -> int:
    w = options.costs
    base = {
        "full_access": w.full_access,
        "send_as": w.send_as,
        "send_on_behalf": w.send_on_behalf,
        "folder": w.folder,
    }[right.value]
    return base + (w.automapping if automapped and right is HybridRight.FULL_ACCESS else 0)


def recount(
    report: dict[str, Any],
    grants: list[Grant],
    options: MigrationBatchesOptions,
    excluded: set[int] = frozenset(),
) -> tuple[int, int, set[tuple[int, int, str]]]:
    """Broken grants recounted from the batches: a grant between two mailboxes still to move
    that do not complete together."""
    group_of: dict[int, tuple[str, int]] = {}
    for batch in report["batches"]:
        for g, members in enumerate(batch["groups"]):
            for person in members:
                group_of[person] = (batch["name"], g)
    count, weight, keys = 0, 0, set()
    for m, t, right, automapped in grants:
        if (
            m in group_of
            and t in group_of
            and t not in excluded
            and m != t
            and group_of[m] != group_of[t]
        ):
            count += 1
            weight += expected_weight(options, right, automapped)
            keys.add((m, t, right.value))
    return count, weight, keys


# A completion group is never larger than its batch: no (cap, completion) with completion > cap.
@pytest.mark.parametrize(
    ("cap", "completion"),
    [(c, g) for c in (2, 3, 7, 25, 60) for g in (None, 2, 5) if g is None or g <= c],
)
def test_caps_are_always_honoured_and_broken_grants_reported_exactly(
    cap: int, completion: int | None
) -> None:
    grants = teams(240, 9, 60, seed=cap * 10 + (completion or 0))
    options = MigrationBatchesOptions(max_batch_size=cap, completion_group_size=completion)
    report, counts, _ = plan_batches_report(inputs(240, 0, grants), options, None)
    members = [p for b in report["batches"] for p in b["members"]]
    assert sorted(members) == list(range(240))
    assert max(b["size"] for b in report["batches"]) <= cap
    assert max(len(g) for b in report["batches"] for g in b["groups"]) <= (completion or cap)
    assert counts["largest_batch"] <= cap
    count, weight, keys = recount(report, grants, options)
    listed = {(row[0], row[1], row[2]) for row in report["broken"]}
    assert listed == keys
    assert (counts["broken_grants"], counts["broken_weight"]) == (count, weight)
    for batch in report["batches"]:
        inside = set(batch["members"])
        for index in batch["broken"]:
            m, t = report["broken"][index][:2]
            assert (m in inside) != (t in inside) or completion is not None


def test_a_component_within_the_cap_is_kept_whole() -> None:
    grants = [
        (0, 1, HybridRight.SEND_AS, False),
        (1, 2, HybridRight.FOLDER, False),
        (3, 4, HybridRight.FULL_ACCESS, True),
    ]
    report, counts, _ = plan_batches_report(
        inputs(6, 0, grants), MigrationBatchesOptions(max_batch_size=3), None
    )
    assert counts["broken_grants"] == 0
    together = {frozenset(b["members"]) for b in report["batches"]}
    assert frozenset({0, 1, 2}) in together


def test_weights_steer_the_cut_to_the_cheap_grants() -> None:
    # 0-1-2-3 in a line, cap 2: cutting the Full Access in the middle costs least.
    grants = [
        (0, 1, HybridRight.SEND_AS, False),
        (1, 2, HybridRight.FULL_ACCESS, False),
        (2, 3, HybridRight.SEND_AS, False),
    ]
    report, counts, _ = plan_batches_report(
        inputs(4, 0, grants), MigrationBatchesOptions(max_batch_size=2), None
    )
    assert counts["broken_grants"] == 1
    assert report["broken"][0][2] == "full_access"


def test_a_service_account_is_found_and_left_out() -> None:
    grants = teams(300, 6, 0, seed=3) + [
        (m, 299, HybridRight.FULL_ACCESS, True) for m in range(299)
    ]
    options = MigrationBatchesOptions(max_batch_size=30, service_account_min_mailboxes=100)
    report, counts, _ = plan_batches_report(inputs(300, 0, grants), options, None)
    found = report["service_accounts"]
    assert [s["address"] for s in found] == ["user00299@contoso.com"]
    assert found[0]["excluded"] and found[0]["mailboxes"] == 299
    count, _, _ = recount(report, grants, options, excluded={299})
    assert counts["broken_grants"] == count
    assert all(row[1] != 299 for row in report["broken"])
    kept = MigrationBatchesOptions(
        max_batch_size=30,
        service_account_min_mailboxes=100,
        not_service_accounts=["user00299@contoso.com"],
    )
    report2, counts2, _ = plan_batches_report(inputs(300, 0, grants), kept, None)
    assert not report2["service_accounts"][0]["excluded"]
    assert counts2["broken_grants"] > counts["broken_grants"]
    named = MigrationBatchesOptions(max_batch_size=30, service_accounts=["user00007@contoso.com"])
    report3, _, _ = plan_batches_report(inputs(300, 0, grants), named, None)
    assert {s["address"] for s in report3["service_accounts"] if s["excluded"]} >= {
        "user00007@contoso.com"
    }


def test_mailboxes_already_in_the_cloud_are_placed_and_satisfy_their_grants() -> None:
    # 0..9 on-premises, 10..19 in the cloud; every on-premises one holds rights with a cloud one.
    grants = [(m, 10 + m, HybridRight.SEND_AS, False) for m in range(10)] + [
        (10 + m, m, HybridRight.FOLDER, False) for m in range(10)
    ]
    report, counts, _ = plan_batches_report(
        inputs(10, 10, grants), MigrationBatchesOptions(max_batch_size=2), None
    )
    assert counts["mailboxes_to_move"] == 10 and counts["mailboxes_in_cloud"] == 10
    assert counts["broken_grants"] == 0
    assert sorted(p for b in report["batches"] for p in b["members"]) == list(range(10))


def test_a_rerun_after_some_moved_keeps_the_remaining_plan() -> None:
    grants = teams(200, 8, 40, seed=11)
    options = MigrationBatchesOptions(max_batch_size=40)
    first, _, _ = plan_batches_report(inputs(200, 0, grants), options, None)
    moved = set(first["batches"][0]["members"])
    # The moved mailboxes are in the cloud now; the others keep their addresses.
    later = inputs(200, 0, grants)
    for person in later.people.persons:
        if person.id in moved:
            person.location = Side.CLOUD
    second, counts, _ = plan_batches_report(later, options, first)
    before = {first["mailboxes"][p][0]: b["name"] for b in first["batches"] for p in b["members"]}
    after = {second["mailboxes"][p][0]: b["name"] for b in second["batches"] for p in b["members"]}
    assert not set(after) & {first["mailboxes"][p][0] for p in moved}
    assert all(after[a] == before[a] for a in after)
    assert counts["kept_from_previous_run"] == 200 - len(moved)
    assert first["batches"][0]["name"] not in {b["name"] for b in second["batches"]}


def test_more_than_a_hundred_batches_warns() -> None:
    _, counts, warnings = plan_batches_report(
        inputs(204, 0, []), MigrationBatchesOptions(max_batch_size=2), None
    )
    assert counts["batches"] == 102
    assert any("at most 100" in w for w in warnings)


def test_the_weighted_partitioner_beats_chunking_in_directory_order() -> None:
    rng = np.random.default_rng(5)
    n = 3000
    order = rng.permutation(n)  # teams are not in directory order
    a, b = [], []
    for start in range(0, n, 12):
        team = order[start : start + 12]
        for m in team:
            a.append(m)
            b.append(rng.choice(team))
    a += list(rng.integers(0, n, 300))
    b += list(rng.integers(0, n, 300))
    w = rng.integers(1, 10, len(a))
    graph = build_graph(n, np.array(a), np.array(b), w)
    cut = partition(graph, 100)
    assert np.bincount(cut.labels).max() <= 100
    assert cut_weight(graph, cut.labels) * 4 <= cut_weight(graph, chunked_components(graph, 100))
