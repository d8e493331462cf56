"""What every command shares: settings, the database, the key, and output for people and scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.secretbox import SecretBox

# Scripts and pipes get wide tables instead of Rich's 80-column default.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def load_settings() -> Settings:
    return Settings()


def open_db(settings: Settings, *, check: bool = True) -> Database:
    """The configured database; with ``check`` it must be migrated to this code's schema."""
    db = Database.from_settings(settings)
    if check:
        db.check_schema()
    return db


def open_box(settings: Settings, *, create: bool = False) -> SecretBox:
    return SecretBox.from_key_file(settings.effective_key_file, create=create)


def fmt_time(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s"


def emit_json(data: Any) -> None:
    """Machine-readable output on stdout (datetimes as ISO 8601)."""
    sys.stdout.write(json.dumps(data, default=_json_default, indent=2, ensure_ascii=False) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A Rich table on stdout."""
    t = Table(title=title, show_lines=False)
    for col in columns:
        t.add_column(col, overflow="fold")
    for row in rows:
        t.add_row(*["" if v is None else str(v) for v in row])
    out.print(t)
