"""The error table of docs/architecture.md is the one errors.py acts on."""

from __future__ import annotations

import re
from pathlib import Path

from tenantsync.errors import ERROR_TABLE

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
NONE = "\u2013"  # the en dash the table writes for "no run status"


def test_the_documented_error_table_is_the_one_the_code_uses() -> None:
    rows = re.findall(
        r"^\| `(\w+)` \| [^|]+ \| ([\w\u2013]+) \| (\d+) \| (\d+) \|$", DOC.read_text(), re.M
    )
    documented = {
        name: (None if status == NONE else status, int(code), int(http))
        for name, status, code, http in rows
    }
    assert documented == ERROR_TABLE
