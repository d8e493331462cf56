"""The sign-in limiter: failures per account and per address inside a sliding window."""

from __future__ import annotations

from tenantsync.console.ratelimit import SignInLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_account_is_locked_after_its_limit_until_the_window_passes() -> None:
    clock = Clock()
    limiter = SignInLimiter(per_account=3, per_address=100, window_seconds=60, clock=clock)
    for _ in range(3):
        assert limiter.retry_after("a@example.com", "192.0.2.1") == 0
        limiter.failed("A@example.com", "192.0.2.1")
    assert 0 < limiter.retry_after("a@example.com", "192.0.2.9") <= 61
    clock.now += 61
    assert limiter.retry_after("a@example.com", "192.0.2.1") == 0


def test_a_success_forgets_the_accounts_failures_but_not_the_addresss() -> None:
    limiter = SignInLimiter(per_account=2, per_address=2, window_seconds=60, clock=Clock())
    limiter.failed("a@example.com", "192.0.2.1")
    limiter.succeeded("a@example.com")
    limiter.failed("a@example.com", "192.0.2.1")
    assert limiter.retry_after("a@example.com", "192.0.2.2") == 0
    assert limiter.retry_after("b@example.com", "192.0.2.1") > 0


def test_guessing_many_names_does_not_grow_memory_without_bound() -> None:
    clock = Clock()
    limiter = SignInLimiter(window_seconds=60, max_keys=10, clock=clock)
    for i in range(5):
        limiter.failed(f"user{i}@example.com", "192.0.2.1")
    clock.now += 61
    for i in range(5, 10):
        limiter.failed(f"user{i}@example.com", "192.0.2.2")
    assert limiter.tracked() <= 12
