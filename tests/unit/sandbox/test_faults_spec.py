"""Fault and latency specs parse as documented and refuse what they cannot mean."""

from __future__ import annotations

import pytest

from tenantsync.sandbox import SpecError, parse_faults, parse_latency
from tenantsync.sandbox.faults import Gate


def test_a_fault_spec_reads_scope_kind_probability_and_options() -> None:
    rules = parse_faults("graph.users:429@0.1/retry-after=2.5;exchange:503@0.05;*:slow@1/delay=2")
    assert [(r.scope, r.kind, r.probability) for r in rules] == [
        ("graph.users", "429", 0.1),
        ("exchange", "503", 0.05),
        ("*", "slow", 1.0),
    ]
    assert rules[0].retry_after == "2.5"
    assert rules[1].retry_after is None
    assert rules[2].delay == 2.0
    assert parse_faults("graph:429@1/retry-after=none")[0].retry_after is None
    assert parse_faults("graph:429@1")[0].retry_after == "1"


@pytest.mark.parametrize(
    "spec", ["graph:teapot@1", "graph:429", "graph:429@often", "graph:429@1/colour=red"]
)
def test_a_bad_fault_spec_is_refused(spec: str) -> None:
    with pytest.raises(SpecError):
        parse_faults(spec)


def test_latency_defaults_resemble_the_real_services_and_can_be_overridden() -> None:
    gate = Gate(latency=parse_latency(None))
    assert gate.latency_for("exchange.Get-MailboxPermission") == 0.5
    assert gate.latency_for("graph.users") < 0.1
    gate = Gate(latency=parse_latency("graph=0.2,exchange=0"))
    assert gate.latency_for("graph.calendar") == 0.2
    assert gate.latency_for("token") == 0.005
    assert gate.latency_for("graph.users") == 0.2
    assert Gate(latency=parse_latency(0)).latency_for("exchange.Get-Mailbox") == 0.0
    with pytest.raises(SpecError):
        parse_latency("graph:fast")


def test_the_rate_limit_is_a_token_bucket_per_tenant() -> None:
    clock = [100.0]
    gate = Gate(latency={}, rate_limit=2, monotonic=lambda: clock[0])
    answers = [gate.check("graph.users", "t1")[0] for _ in range(3)]
    assert answers[:2] == [None, None]
    assert answers[2] is not None and answers[2].rate_limited
    assert gate.check("graph.users", "t2")[0] is None
    assert gate.check("token", "t1")[0] is None
    clock[0] += 0.5
    assert gate.check("graph.users", "t1")[0] is None


def test_a_given_scope_replaces_the_more_specific_defaults_under_it() -> None:
    gate = Gate(latency=parse_latency("exchange=0.05"))
    assert gate.latency_for("exchange.Get-Mailbox") == 0.05
    assert gate.latency_for("exchange.Get-MailboxPermission") == 0.05
    assert gate.latency_for("graph.calendar") == 0.05  # untouched default
    assert Gate(latency=parse_latency({"*": 0})).latency_for("exchange.Get-Mailbox") == 0.0


def test_answer_faults_and_after_parse_and_fire_after_the_requests_let_through() -> None:
    rules = parse_faults(
        "graph.users:drop-next@1/after=2/count=1;graph.batch:403@1;exchange:truncate@1"
    )
    assert [(r.kind, r.after, r.count) for r in rules] == [
        ("drop-next", 2, 1),
        ("403", 0, None),
        ("truncate", 0, None),
    ]
    gate = Gate(latency={}, rules=rules[:1])
    fired = [gate.check("graph.users", None)[0] for _ in range(4)]
    assert [a.kind if a else None for a in fired] == [None, None, "drop-next", None]
