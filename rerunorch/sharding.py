"""Splitting one sweep's targets between N runners, each target to exactly one."""

from __future__ import annotations

import re
import zlib

import attrs

from rerunorch.errors import ConfigError

__all__ = ["Shard"]

_SPEC = re.compile(r"[ \t]*([0-9]{1,9})[ \t]*/[ \t]*([0-9]{1,9})[ \t]*")  # ASCII digits only


@attrs.frozen
class Shard:
    """Shard ``index`` of ``count`` (1-based, like CI job indexes).

    A target belongs to one shard by a stable hash of its id (CRC-32), so every
    runner computes the same split whatever order it reads the targets in.

    >>> shards = [Shard(i, 3) for i in (1, 2, 3)]
    >>> [sum(467 in s for s in shards), sum(468 in s for s in shards)]
    [1, 1]
    """

    index: int
    count: int

    def __attrs_post_init__(self) -> None:
        if not 1 <= self.index <= self.count:
            raise ConfigError(f"--shard {self.index}/{self.count}: I must be from 1 to N")

    @classmethod
    def parse(cls, spec: str) -> Shard:
        """``"2/4"`` -> ``Shard(2, 4)``; raises ConfigError for anything else."""
        match = _SPEC.fullmatch(spec)
        if not match:
            raise ConfigError(f"--shard takes I/N (e.g. 2/4), not {spec[:40]!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    def __contains__(self, target_id: object) -> bool:
        return zlib.crc32(str(target_id).encode()) % self.count == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
