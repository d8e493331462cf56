"""A spool of plain records on disk: a run's reads and plans are written here as they come
and read back in order, so a run over ten thousand mailboxes never holds them all."""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator
from typing import IO, Generic, TypeVar

T = TypeVar("T")
# Up to this many bytes stay in memory before the spool moves to a file.
IN_MEMORY = 8 * 1024 * 1024


class Spool(Generic[T]):
    """Append records, then read them back (as many times as needed)."""

    def __init__(self) -> None:
        # Closed by close(), when the run is done with it.
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY)  # noqa: SIM115
        self.count = 0

    def add(self, record: T) -> None:
        """Keep one record."""
        pickle.dump(record, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self.count += 1

    def __iter__(self) -> Iterator[T]:
        self._file.seek(0)
        for _ in range(self.count):
            # Our own records, written by this process a moment ago.
            yield pickle.load(self._file)  # noqa: S301
        self._file.seek(0, 2)

    def __len__(self) -> int:
        return self.count

    def close(self) -> None:
        """Free the spool."""
        self._file.close()
