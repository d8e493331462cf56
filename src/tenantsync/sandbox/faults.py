"""Latency, seeded faults and the per-tenant rate limit, applied per endpoint family.

Families: `token`, `graph.users`, `graph.groups`, `graph.mailboxSettings`,
`graph.calendar`, `graph.batch`, `exchange.<CmdletName>` (e.g. `exchange.Get-Mailbox`).
A scope in a spec matches a family exactly, as a dotted prefix (`graph` matches
`graph.users`) or with `*` (everything).

Latency spec: `SCOPE=SECONDS[,SCOPE=SECONDS…]`, e.g. `graph=0.02,exchange=0.5`, or a bare
number for every family. Unnamed families keep their defaults; a named scope replaces
the defaults under it.

Fault spec: `RULE[;RULE…]` with `RULE = SCOPE:KIND@PROBABILITY[/OPTION=VALUE…]`:
  KIND        429 | 503 | reset | slow          answered instead of the request
              403 | 404                         an error in the family's format (inside a
                                                Graph $batch: that item's answer only)
              truncate                          the answer's body cut in half (status 200,
                                                Content-Length of what is sent)
              drop-next | drop-delta            the answer without its @odata.nextLink /
                                                @odata.deltaLink (the rest intact)
  OPTIONS     retry-after=INT|FLOAT|none  (429 and 503; default 1 for 429, absent for 503)
              delay=SECONDS               (slow; default 5)
              count=N                     (inject at most N times, then stop)
              after=N                     (let the first N matching requests through)
e.g. `graph.users:429@0.1/retry-after=2.5;exchange:503@0.05;*:reset@0.01;graph:slow@1/count=1`,
`graph.users:drop-next@1/after=2/count=1` (the third users page loses its next link).
Draws come from one random source seeded at start, so a run is reproducible.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

FAULT_KINDS = ("429", "503", "403", "404", "reset", "slow", "truncate", "drop-next", "drop-delta")
# Kinds that let the request be served and then change its answer.
MANGLE_KINDS = frozenset({"truncate", "drop-next", "drop-delta"})
DEFAULT_LATENCY: dict[str, float] = {
    "token": 0.005,
    "graph": 0.02,
    "graph.calendar": 0.05,
    "graph.mailboxSettings": 0.03,
    "exchange": 0.5,
    "exchange.Get-Mailbox": 0.3,
    "exchange.Get-DistributionGroup": 0.3,
    "exchange.Get-DynamicDistributionGroup": 0.3,
}


class SpecError(ValueError):
    """A latency or fault spec string cannot be parsed."""


@dataclass(slots=True)
class FaultRule:
    """One fault to inject into a scope with a probability."""

    scope: str
    kind: str
    probability: float
    retry_after: str | None = None
    delay: float = 5.0
    count: int | None = None
    after: int = 0
    seen: int = 0
    fired: int = 0


@dataclass(frozen=True, slots=True)
class FaultAnswer:
    """What the gate decided for a request that must not be served normally."""

    kind: str  # one of FAULT_KINDS but "slow"
    retry_after: str | None = None
    rate_limited: bool = False


def matches(scope: str, family: str) -> bool:
    """Whether a spec scope covers an endpoint family."""
    return scope in ("*", family) or family.startswith(scope + ".")


def parse_latency(spec: str | float | Mapping[str, float] | None) -> dict[str, float]:
    """Latency per scope: None gives the defaults, a number applies to everything."""
    if spec is None:
        return dict(DEFAULT_LATENCY)
    if isinstance(spec, int | float):
        return {"*": float(spec)}
    if isinstance(spec, Mapping):
        return _over_defaults({k: float(v) for k, v in spec.items()})
    text = spec.strip()
    try:
        return {"*": float(text)}
    except ValueError:
        pass
    given: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        scope, sep, value = part.partition("=")
        try:
            given[scope.strip()] = float(value)
        except ValueError:
            raise SpecError(f"latency entry {part!r}: expected SCOPE=SECONDS") from None
        if not sep:
            raise SpecError(f"latency entry {part!r}: expected SCOPE=SECONDS")
    return _over_defaults(given)


def _over_defaults(given: dict[str, float]) -> dict[str, float]:
    """Given scopes on top of the defaults; a given scope replaces the defaults under it
    (`exchange=0` silences every cmdlet, not only those without a default of their own)."""
    kept = {
        scope: seconds
        for scope, seconds in DEFAULT_LATENCY.items()
        if not any(matches(mine, scope) for mine in given)
    }
    return {**kept, **given}


def parse_faults(spec: str | None) -> list[FaultRule]:
    """Fault rules from a spec string (see the module docstring)."""
    rules: list[FaultRule] = []
    for part in filter(None, (p.strip() for p in (spec or "").split(";"))):
        head, *options = part.split("/")
        scope, _, rest = head.partition(":")
        kind, _, prob = rest.partition("@")
        if kind not in FAULT_KINDS or not scope or not prob:
            raise SpecError(
                f"fault rule {part!r}: expected SCOPE:KIND@PROBABILITY, "
                f"KIND one of {', '.join(FAULT_KINDS)}"
            )
        try:
            rule = FaultRule(scope.strip(), kind, float(prob))
        except ValueError:
            raise SpecError(f"fault rule {part!r}: bad probability {prob!r}") from None
        rule.retry_after = "1" if kind == "429" else None
        for option in options:
            key, _, value = option.partition("=")
            _apply_option(rule, key.strip(), value.strip(), part)
        rules.append(rule)
    return rules


def _apply_option(rule: FaultRule, key: str, value: str, part: str) -> None:
    try:
        if key == "retry-after":
            if value.lower() == "none":
                rule.retry_after = None
            else:
                float(value)
                rule.retry_after = value
        elif key == "delay":
            rule.delay = float(value)
        elif key == "count":
            rule.count = int(value)
        elif key == "after":
            rule.after = int(value)
        else:
            raise SpecError(f"fault rule {part!r}: unknown option {key!r}")
    except ValueError as exc:
        if isinstance(exc, SpecError):
            raise
        raise SpecError(f"fault rule {part!r}: bad value for {key}: {value!r}") from None


@dataclass
class Gate:
    """Decides, per request, on latency, injected faults and the rate limit."""

    latency: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_LATENCY))
    rules: list[FaultRule] = field(default_factory=list)
    rate_limit: float | None = None
    seed: int = 0
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    injected: dict[str, int] = field(default_factory=dict)
    # Requests seen per family (items of a Graph $batch each count under their own), so a
    # test can tell what a run asked the source for.
    requests: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._buckets: dict[str, tuple[float, float]] = {}

    def latency_for(self, family: str) -> float:
        """The configured delay for a family (most specific scope wins)."""
        best, best_len = self.latency.get("*", 0.0), -1
        for scope, seconds in self.latency.items():
            if scope != "*" and matches(scope, family) and len(scope) > best_len:
                best, best_len = seconds, len(scope)
        return best

    def check(self, family: str, tenant_id: str | None) -> tuple[FaultAnswer | None, float]:
        """Rate limit and fault draw for one request: (answer or None, extra delay)."""
        self.requests[family] = self.requests.get(family, 0) + 1
        if self.rate_limit and tenant_id and family != "token":
            wait = self._take(tenant_id)
            if wait > 0:
                return FaultAnswer("429", str(max(1, math.ceil(wait))), rate_limited=True), 0.0
        extra = 0.0
        for rule in self.rules:
            if not matches(rule.scope, family):
                continue
            if rule.count is not None and rule.fired >= rule.count:
                continue
            rule.seen += 1
            if rule.seen <= rule.after:
                continue
            if self._rng.random() >= rule.probability:
                continue
            rule.fired += 1
            self.injected[rule.kind] = self.injected.get(rule.kind, 0) + 1
            if rule.kind == "slow":
                extra += rule.delay
                continue
            return FaultAnswer(rule.kind, rule.retry_after), extra
        return None, extra

    async def enter(self, family: str, tenant_id: str | None) -> FaultAnswer | None:
        """Apply latency and return a fault to answer with, or None to serve normally."""
        answer, extra = self.check(family, tenant_id)
        delay = self.latency_for(family) + extra
        if delay > 0:
            await self.sleep(delay)
        return answer

    def _take(self, tenant_id: str) -> float:
        """Token bucket per tenant: 0 when a request may pass, else seconds to wait."""
        rate = float(self.rate_limit or 0)
        now = self.monotonic()
        tokens, last = self._buckets.get(tenant_id, (rate, now))
        tokens = min(rate, tokens + (now - last) * rate)
        if tokens >= 1:
            self._buckets[tenant_id] = (tokens - 1, now)
            return 0.0
        self._buckets[tenant_id] = (tokens, now)
        return (1 - tokens) / rate
