"""Writing to a stopped Samba DC's database with Samba's own ldb tools: LDIF through
``ldbadd``/``ldbmodify`` (the whole file in one transaction, every object through the same
directory modules as an LDAP add: schema checks, SIDs, security descriptors, linked
attributes) and ``ldbsearch`` read back as attribute values.
"""

from __future__ import annotations

import base64
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence

from tenantsync.sandbox.samba import SambaDC

Value = str | bytes | int
# LDIF writes a value as is only if it is printable ASCII that starts safely (RFC 2849).
_SAFE = re.compile(
    r"^[\x01-\x09\x0b-\x0c\x0e-\x1f\x21-\x39\x3b\x3d-\x7f][\x01-\x09\x0b-\x0c\x0e-\x7f]*$"
)


def line(name: str, value: Value) -> str:
    """One ``name: value`` line, base64 (``name:: …``) where LDIF needs it."""
    if isinstance(value, int):
        return f"{name}: {value}"
    if isinstance(value, str) and _SAFE.match(value) and not value.endswith(" "):
        return f"{name}: {value}"
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return f"{name}:: {base64.b64encode(raw).decode()}"


def add_record(
    dn: str, classes: Sequence[str], attrs: Mapping[str, Value | Sequence[Value]]
) -> str:
    """An add record."""
    lines = [line("dn", dn), *(line("objectClass", c) for c in classes)]
    for name, values in attrs.items():
        lines += [line(name, v) for v in _many(values)]
    return "\n".join(lines) + "\n\n"


def replace_record(dn: str, attrs: Mapping[str, Value | Sequence[Value]]) -> str:
    """A modify record replacing each attribute's values."""
    lines = [line("dn", dn), "changetype: modify"]
    for name, values in attrs.items():
        lines += [f"replace: {name}", *(line(name, v) for v in _many(values)), "-"]
    return "\n".join(lines) + "\n\n"


def ldb_add(dc: SambaDC, records: Iterable[str]) -> None:
    """Add every record in one transaction (the DC must be stopped)."""
    _run(dc, "ldbadd", records)


def ldb_modify(dc: SambaDC, records: Iterable[str]) -> None:
    """Apply every modify record in one transaction (the DC must be stopped)."""
    _run(dc, "ldbmodify", records)


def ldb_search(
    dc: SambaDC, base: str, search_filter: str, attributes: Sequence[str], *, scope: str = "sub"
) -> dict[str, dict[str, list[str]]]:
    """Entries by DN, each attribute's values as text (SIDs and descriptors as strings)."""
    where = ["-s", scope, "-b", base, search_filter, *attributes]
    command = ["ldbsearch", "-H", str(dc.database), f"--configfile={dc.config}", *where]
    done = subprocess.run(command, capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ldbsearch of {base} failed: {done.stderr.decode()[-2000:]}")
    found: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for name, value in _unfolded(done.stdout.decode("utf-8")):
        if name == "dn":
            current = found.setdefault(value, {})
        elif current is not None:
            current.setdefault(name.lower(), []).append(value)
    return found


def _run(dc: SambaDC, tool: str, records: Iterable[str]) -> None:
    if dc.process is not None and dc.process.poll() is None:
        raise RuntimeError(f"{tool} writes the database directly: stop the DC first")
    path = dc.root / f"{tool}.ldif"
    with path.open("w", encoding="utf-8") as out:
        out.writelines(records)
    # --nosync: a throwaway database needs no fsync per commit.
    command = [tool, "-H", str(dc.database), f"--configfile={dc.config}", "--nosync", str(path)]
    done = subprocess.run(command, capture_output=True, check=False)
    path.unlink()
    # ldbadd stops at the first record refused yet exits 0 having kept those before it.
    if done.returncode != 0 or b"ERR" in done.stderr:
        output = (done.stdout + done.stderr).decode(errors="replace")
        raise RuntimeError(f"{tool} failed: {output[-3000:]}")


def _unfolded(text: str) -> Iterable[tuple[str, str]]:
    """``(name, value)`` of each LDIF line, continuation lines joined and base64 decoded."""
    logical: list[str] = []
    for raw in text.splitlines():
        if raw.startswith(" ") and logical:
            logical[-1] += raw[1:]
        elif raw and not raw.startswith("#"):
            logical.append(raw)
    for entry in logical:
        name, _, value = entry.partition(":")
        if value.startswith(":"):
            yield name, base64.b64decode(value[1:].strip()).decode("utf-8", "replace")
        else:
            yield name, value.strip()


def _many(values: Value | Sequence[Value]) -> Sequence[Value]:
    if isinstance(values, str | bytes | int):
        return [values]
    return values


__all__ = ["add_record", "ldb_add", "ldb_modify", "ldb_search", "line", "replace_record"]
