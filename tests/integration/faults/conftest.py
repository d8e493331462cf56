"""The fault matrix: every kind of trouble a source can give, against every feature that
reads it, over the sandbox's HTTP wire formats. What is checked is the product's promise,
not a backend's: the store runs on SQLite here (the backends are covered elsewhere).

Pages are kept small (25 Graph objects, 40 Exchange objects a page) so that a tenant of
a hundred mailboxes is read in several pages and a lost link has a page to lose.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tenantsync.sandbox import SandboxOptions

GRAPH_PAGE = 25
EXCHANGE_PAGE = 40


@dataclass(frozen=True)
class Fault:
    """One profile of the matrix: the sandbox fault spec and what the run must say."""

    name: str
    spec: str
    cause: str
    statuses: frozenset[str] = frozenset({"warning"})
    modes: tuple[str, ...] = ("full", "delta")

    def __str__(self) -> str:
        return self.name


def small_pages() -> SandboxOptions:
    """Sandbox options that make every listing several pages long."""
    return SandboxOptions(graph_page_cap=GRAPH_PAGE, exchange_page_size=EXCHANGE_PAGE)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tenantsync.db'}"
