"""Sign-in rate limit: failed attempts counted per account and per client address.

A sliding window in memory, per console process; with several console processes the
effective limit is multiplied by their number, which still stops password guessing.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
WINDOW_SECONDS = 300.0
MAX_KEYS = 50_000


class SignInLimiter:
    """Refuses sign-in attempts once an account or an address failed too often recently."""

    def __init__(
        self,
        *,
        per_account: int = ACCOUNT_LIMIT,
        per_address: int = ADDRESS_LIMIT,
        window_seconds: float = WINDOW_SECONDS,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_account = per_account
        self.per_address = per_address
        self.window = window_seconds
        self.max_keys = max_keys
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def retry_after(self, email: str, address: str) -> int:
        """Seconds until an attempt is allowed again; 0 when it is allowed now."""
        now = self._clock()
        with self._lock:
            waits = [
                self._wait(f"account:{email.lower()}", self.per_account, now),
                self._wait(f"address:{address}", self.per_address, now),
            ]
        return max(waits)

    def failed(self, email: str, address: str) -> None:
        """Count one failed attempt against the account and the address."""
        now = self._clock()
        with self._lock:
            if len(self._failures) >= self.max_keys:
                self._forget_old(now)
            self._failures[f"account:{email.lower()}"].append(now)
            self._failures[f"address:{address}"].append(now)

    def tracked(self) -> int:
        """How many accounts and addresses have failures remembered."""
        with self._lock:
            return len(self._failures)

    def _forget_old(self, now: float) -> None:
        """Drop keys with no failure inside the window (guessing many names grows no memory)."""
        stale = [k for k, t in self._failures.items() if not t or now - t[-1] >= self.window]
        for key in stale:
            del self._failures[key]

    def succeeded(self, email: str) -> None:
        """Forget the account's failures after a successful sign-in."""
        with self._lock:
            self._failures.pop(f"account:{email.lower()}", None)

    def _wait(self, key: str, limit: int, now: float) -> int:
        times = self._failures.get(key)
        if not times:
            return 0
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) < limit:
            return 0
        return max(1, int(self.window - (now - times[0])) + 1)
