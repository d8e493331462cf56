"""The error table of docs/architecture.md is the one errors.py acts on."""

from __future__ import annotations

import re
from pathlib import Path

from tenantsync.errors import ERROR_TABLE

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def test_the_documented_error_table_is_the_one_the_code_uses() -> None:
    rows = re.findall(
        r"^\| `(\w+)` \| [^|]+ \| ([\w–]+) \| (\d+) \| (\d+) \|$", DOC.read_text(), re.M
    )
    documented = {
        name: (None if status == "–" else status, int(code), int(http))
        for name, status, code, http in rows
    }
    assert documented == ERROR_TABLE
