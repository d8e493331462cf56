"""`tenantsync apply` refuses a bad file with one line that names the file, the line and
the problem, and writes nothing; on SQLite and on PostgreSQL (which enforces lengths)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tenantsync.cli import main
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Base, Organization, Schedule


@dataclass(frozen=True)
class Applied:
    """What one `tenantsync apply` printed and how it exited."""

    code: int
    out: str
    err: str
    file: Path

    def refused_at(self, line: int) -> str:
        """The one-line error, checked to name the file and ``line``."""
        assert self.code != 0, self.out
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, self.err
        assert lines[0].startswith(f"error: {self.file}:{line}: "), lines[0]
        assert "Traceback" not in self.err
        return lines[0]


Apply = Callable[..., Applied]


@pytest.fixture
def apply(
    db: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> Apply:
    """Write a file and run `tenantsync apply FILE` on it, as an operator would."""
    monkeypatch.setenv("TENANTSYNC_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("TENANTSYNC_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CONTOSO_CLIENT_SECRET", "s3cret")

    def run(text: str, *args: str) -> Applied:
        path = tmp_path / "tenants.yaml"
        path.write_text(text, encoding="utf-8")
        capsys.readouterr()
        with pytest.raises(SystemExit) as done:
            main(["apply", str(path), *args])
        captured = capsys.readouterr()
        return Applied(int(done.value.code or 0), captured.out, captured.err, path)

    return run


def count(db: Database, model: type[Base]) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


SCHEDULE = """\
organizations:
  - name: contoso
    schedules:
      - name: fast
        cron: "{cron}"
"""


def test_a_cron_of_six_fields_is_refused_it_would_run_every_second(
    apply: Apply, db: Database
) -> None:
    refused = apply(SCHEDULE.format(cron="* * * * * *"))
    line = refused.refused_at(5)
    assert "organizations[contoso].schedules[fast].cron" in line and "5 fields" in line
    assert count(db, Organization) == 0 and count(db, Schedule) == 0
    assert apply(SCHEDULE.format(cron="*/5 * * * *")).code == 0
    assert count(db, Schedule) == 1
