"""Targets from the command line: arguments, a file, or stdin.

The whole input is checked before the sweep sends anything, so that a bad line
is reported with its line number while nothing has happened yet; then it is
read again, lazily, by the sweep. Standard input is spooled to a temporary
file for that second reading.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from rerunorch.errors import ConfigError
from rerunorch.sharding import Shard
from rerunorch.targets import Target, read_targets

__all__ = ["TargetInput"]


class TargetInput:
    """Checked, re-readable targets from ids and/or a file (``-`` for stdin).

    Attributes:
        count: How many targets there are.
        in_shard: How many of them are in ``shard`` (all of them without one).
        fingerprint: A digest of the targets in order (a journal must match it to resume).
    """

    def __init__(
        self, ids: tuple[str, ...], from_file: str | None, shard: Shard | None = None
    ) -> None:
        self._ids = ids
        self._spool: tempfile._TemporaryFileWrapper[str] | None = None
        self._path: Path | None = None
        self._source = from_file or ""
        if from_file == "-":
            self._spool = tempfile.NamedTemporaryFile("w+", encoding="utf-8", suffix=".targets")  # noqa: SIM115
            shutil.copyfileobj(sys.stdin, self._spool)
            self._spool.flush()
            self._path, self._source = Path(self._spool.name), "<stdin>"
        elif from_file is not None:
            self._path = Path(from_file)
            if not self._path.is_file():
                raise ConfigError(f"--from-file: no such file: {from_file}")
        digest = hashlib.sha256()
        self.count = self.in_shard = 0
        for target in self:
            self.count += 1
            self.in_shard += shard is None or target.id in shard
            digest.update(
                f"{target.id}|{target.test_case_result_ids}|{target.iteration_result_ids}\n".encode()
            )
        self.fingerprint = digest.hexdigest()
        if self.count == 0:
            raise ConfigError("no targets: give execution-result ids or --from-file")

    def __iter__(self) -> Iterator[Target]:
        yield from read_targets(self._ids, source="arguments")
        if self._path is not None:
            with self._path.open(encoding="utf-8-sig") as fh:
                yield from read_targets(fh, source=self._source)

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
